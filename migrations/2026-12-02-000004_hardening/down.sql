DROP INDEX wallet_challenges_expires_idx;
DROP INDEX login_throttle_window_idx;
DROP TABLE login_ip_throttle;
