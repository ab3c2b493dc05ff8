import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

let ids = 0;
export const useId = () => {
  const id = useRef<string | undefined>(undefined);
  return (id.current ??= `id${++ids}`);
};

/** A modal <dialog>: focus moves into it, Escape closes it, focus returns to the opener. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const heading = useId();
  const close = useRef(props.onClose);
  close.current = props.onClose;
  // Read during the first render, before the dialog or a field in it can take focus and before a
  // live update can re-render what was focused: the effect below runs too late to see the opener.
  const openerRef = useRef<HTMLElement | null | undefined>(undefined);
  if (openerRef.current === undefined) openerRef.current = document.activeElement as HTMLElement | null;
  useEffect(() => {
    const dialog = ref.current!;
    const opener = openerRef.current;
    dialog.showModal();
    const onClose = () => close.current();
    dialog.addEventListener("close", onClose);
    return () => {
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={heading} class={props.wide ? "wide" : undefined}>
      <header class="dialog-head">
        <h2 id={heading}>{props.title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={() => ref.current?.close()}>
          ×
        </button>
      </header>
      {props.children}
    </dialog>
  );
}

export function Field(props: { label: string; children: (id: string) => ComponentChildren; hint?: string }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint ? <small>{props.hint}</small> : null}
    </div>
  );
}

export const ErrorText = (props: { text: string | null }) =>
  props.text ? (
    <p class="error" role="alert">
      {props.text}
    </p>
  ) : null;
