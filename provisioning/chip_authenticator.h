#pragma once

#include "flashing/commands.h"
#include "provisioning/openssl_util.h"

namespace keyline::provisioning {

// A chip that proved it holds an identity key certified by the silicon vendor.
struct GenuineChip {
    QByteArray chipUid;
    QString certificateSubject;
    QString certificateIssuer;
    ossl::SharedPkey identityKey;
};

// Decides whether a chip is genuine before any secret goes to it: its identity certificate
// must chain to a silicon vendor root from the station's trust configuration, name the chip's
// UID, and its signature over the station's fresh nonce must verify.
class ChipAuthenticator {
public:
    // `rootsPemPath` holds one or more trusted silicon vendor root certificates.
    static Result<ChipAuthenticator> fromRootFile(const QString& rootsPemPath);

    Result<GenuineChip> verify(const QByteArray& chipUid, const QByteArray& nonce,
                               const protocol::ChallengeResponse& answer) const;

    // Checks that an ephemeral key-agreement key was signed by that same chip.
    Result<void> verifyEphemeralKey(const GenuineChip& chip,
                                    const protocol::EphemeralKeyResponse& answer) const;

private:
    explicit ChipAuthenticator(std::shared_ptr<X509_STORE> roots);
    std::shared_ptr<X509_STORE> m_roots;
};

// A fresh random nonce for a challenge (32 bytes from the OS's CSPRNG via OpenSSL).
QByteArray freshNonce();

} // namespace keyline::provisioning
