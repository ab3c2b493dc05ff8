ALTER TABLE `sessions` ADD `spent_hashes` text DEFAULT '' NOT NULL;
