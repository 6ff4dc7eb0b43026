#include "provisioning/chip_check_step.h"

namespace keyline::provisioning {

Result<GenuineChip> authenticateChip(flashing::DeviceClient& device,
                                     const ChipAuthenticator& authenticator) {
    KL_TRY_ASSIGN(protocol::IdentifyInfo info, device.identify());
    // A fresh nonce per check: a recorded answer from another session cannot be replayed.
    const QByteArray nonce = freshNonce();
    KL_TRY_ASSIGN(protocol::ChallengeResponse answer, device.challenge(nonce));
    auto chip = authenticator.verify(info.chipUid, nonce, answer);
    if (!chip)
        return std::move(chip).error().context(
            QStringLiteral("%1: chip %2")
                .arg(device.port().endpoint, QString::fromLatin1(info.chipUid.toHex())));
    return chip;
}

} // namespace keyline::provisioning
