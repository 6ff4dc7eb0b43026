#pragma once

// The HSM steps of the production key ceremony (docs/key-inventory.md): generate a station key
// inside the HSM and write a PKCS#10 request signed by it, for the offline root; later import
// the certificate the root issued, after checking it belongs to that key. The development set
// needs none of this (init-dev makes it); these calls are for a token that starts empty.

#include "hsm/pkcs11_hsm.h"

namespace keyline::hsm {

// A key the ceremony knows, by the short name the command line uses.
struct CeremonyKey {
    QString name;     // "issuing-ca", "audit", "keystore-signing", "device-root-ca"
    QString label;    // its label in the key inventory
    bool generated;   // made on the station's HSM (false: the offline root, certificate only)
    bool certificate; // a certificate object is imported for it
};
const std::vector<CeremonyKey>& ceremonyKeys();
// InvalidArgument listing the names that exist.
Result<CeremonyKey> findCeremonyKey(const QString& name);

// "CN=Keyline Station Issuing CA line-7,O=Keyline" or "/O=Keyline/CN=…": attributes CN, O, OU,
// C, L, ST, serialNumber; a CN is required; no escaped separators. Returns the DER X509_NAME.
// InvalidArgument naming the bad part.
Result<QByteArray> parseSubject(const QString& text);

// A PKCS#10 request (DER) for `signer`'s key with the given subject, signed by `signer` (an HSM
// key): ecdsa-with-SHA256, verified before it is returned.
Result<QByteArray> makeSignedCsr(const Signer& signer, const QString& subject);

struct CeremonyCsr {
    QByteArray csrDer;
    QByteArray publicKeySpki;
    bool keyCreated = false; // false: the request is for a key that was already there
};

// Generates `key` (P-256, sensitive, non-extractable, CKA_ID = label bytes) on the open token and
// returns its CSR. A key with that label already on the token is Refused (a ceremony never
// replaces a key by accident) unless `useExisting`, which writes a fresh CSR for it.
Result<CeremonyCsr> generateKeyAndCsr(Pkcs11Hsm& hsm, const CeremonyKey& key,
                                      const QString& subject, bool useExisting);

enum class ImportOutcome { Imported, AlreadyPresent };

// Stores `certificate` (DER or PEM) as the certificate object of `key`, with the key's CKA_ID.
// Refused (BadInput) unless: it parses; it is valid now; its public key is the HSM key's (for
// the root: it is self-signed); it has the profile of the key (CA with keyCertSign for the CAs,
// CA:FALSE with digitalSignature for the audit key); and, when the root certificate is already
// on the token, the root's signature on it verifies. The same certificate again is
// AlreadyPresent; a different one where one exists is Refused.
Result<ImportOutcome> importCertificate(Pkcs11Hsm& hsm, const CeremonyKey& key,
                                        const QByteArray& certificate);

} // namespace keyline::hsm
