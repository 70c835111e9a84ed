DROP TABLE key_spends;
DROP TABLE key_spend_caps;
