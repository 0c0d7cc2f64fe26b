/**
 * The ports above 1023 that browsers and Node's fetch refuse to connect to (the Fetch standard's "bad
 * ports": sieve, X11, IRC, Amanda, ...). A preview on one of them could be neither probed nor opened.
 */
export const BLOCKED_PORTS: readonly number[] = [1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080];
