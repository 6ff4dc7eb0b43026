#pragma once

// Detached CMS SignedData (RFC 5652) made with a key the station cannot see: OpenSSL builds the
// structure, the signed attributes' DER is hashed here and signed through keyline::Signer (the
// HSM), and the signature is spliced in. The result verifies with plain OpenSSL:
//   openssl cms -verify -binary -inform DER -in F.p7s -content F -CAfile root.pem -purpose any

#include "common/result.h"
#include "common/signer.h"

#include <QByteArray>
#include <QString>

namespace keyline::db {

// `contentSha256` is the SHA-256 of the signed file. `certificateChainPem` holds the signer's
// certificate first (its key must be the signer's), then any intermediates; all go into the
// SignedData. Returns the DER encoding.
Result<QByteArray> signDetachedCms(const QByteArray& contentSha256, const Signer& signer,
                                   const QByteArray& certificateChainPem);

// Verifies `cmsDer` over `content` and the signer's certificate chain up to one of the PEM
// certificates in `trustedRootsPem` (any purpose). Returns the signer's subject.
// VerificationFailed naming what did not verify; BadInput for a signature that does not parse.
Result<QString> verifyDetachedCms(const QByteArray& cmsDer, const QByteArray& content,
                                  const QByteArray& trustedRootsPem);

} // namespace keyline::db
