DROP TABLE wallet_challenges;
