/**
 * A test certificate authority and a server certificate it signed, for `localhost` and `127.0.0.1` (EC
 * P-256, valid until 2126). The server certificate is a leaf (CA:FALSE, serverAuth): rustls, under Deno,
 * refuses a self-signed CA certificate used as a server's. For tests only: the key is public.
 *
 * Made with openssl: a CA (`req -x509`, CA:TRUE) and a leaf (`x509 -req`, subjectAltName
 * DNS:localhost,IP:127.0.0.1).
 */

/** The test CA, PEM: what clients trust. */
export const TEST_CA: string = `-----BEGIN CERTIFICATE-----
MIIBmjCCAT+gAwIBAgIULXlieWrIqhq5of5oXxGfyhFrtbcwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOc2Fuc3dzIHRlc3QgQ0EwIBcNMjYxMTI1MTQzMTQ3WhgPMjEy
NjExMDExNDMxNDdaMBkxFzAVBgNVBAMMDnNhbnN3cyB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEp16TU6ogD8BPGtYPFwEPgezZd9rqpC8IuCWVGo5k
8AEVA+AGJAc7mrVPW2euC5WAdEKbU8G8pyCOxS4+I1N+8KNjMGEwHQYDVR0OBBYE
FIt0/f/WK7jyxghfct0frToq6E1AMB8GA1UdIwQYMBaAFIt0/f/WK7jyxghfct0f
rToq6E1AMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49
BAMCA0kAMEYCIQDtAfShyg0bWJKbI62EgcakTRo+Bq08btqBKsmV1U6lWAIhANjJ
zpNd6TGGDf6im5vJjS1UxydOH+JF+yvDK7eM9DFu
-----END CERTIFICATE-----
`;

/** The server certificate (signed by {@link TEST_CA}), PEM. */
export const TEST_CERT: string = `-----BEGIN CERTIFICATE-----
MIIBwzCCAWqgAwIBAgIUVJABIeop4cpi6LsYJtxTSth/DoAwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOc2Fuc3dzIHRlc3QgQ0EwIBcNMjYxMTI1MTQzMTQ3WhgPMjEy
NjExMDExNDMxNDdaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABJ3k45XpaezFzAfEjmJ1EIqLKum+t0hRYdu7f7dAg8M3Xp0I
AAR1BeEkPpespdautg8nNSbyVswtzOdSKEn7k3SjgZIwgY8wDAYDVR0TAQH/BAIw
ADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMw
EYIJbG9jYWxob3N0hwR/AAABMB0GA1UdDgQWBBSE5rUoxGbRvL1BOcmHqXjkjQIX
WDAfBgNVHSMEGDAWgBSLdP3/1iu48sYIX3LdH606KuhNQDAKBggqhkjOPQQDAgNH
ADBEAiBrSAjqdFq0RI1balDptaVr3undJNNSiA2Jmo6IQbXFmwIgdoD3AWuq5NBx
5b5V5HSRa/jjRPD8Z2/Uzt+UV2uAZ1w=
-----END CERTIFICATE-----
`;

/** The server certificate's private key, PEM. */
export const TEST_KEY: string = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcBLa88meWy3eo9Pj
dHx5W9lPvQEn4nA8iYkVjxcyB8ShRANCAASd5OOV6WnsxcwHxI5idRCKiyrpvrdI
UWHbu3+3QIPDN16dCAAEdQXhJD6XrKXWrrYPJzUm8lbMLcznUihJ+5N0
-----END PRIVATE KEY-----
`;
