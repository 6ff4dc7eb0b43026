#include "provisioning/otp_key_step.h"

namespace keyline::provisioning {

namespace {

QString kcvText(const QByteArray& kcv) {
    return kcv.isEmpty() ? QStringLiteral("none") : QString::fromLatin1(kcv.toHex());
}

Error otherKeyBurned(const QByteArray& deviceKcv) {
    return Error(ErrorCode::Refused,
                 QStringLiteral("OTP holds another key (KCV %1), device must be scrapped; it is "
                                "never burned twice")
                     .arg(kcvText(deviceKcv)));
}

} // namespace

OtpKeyStep::OtpKeyStep(const ChipAuthenticator& authenticator, hsm::Hsm& hsm, hsm::KeyUri imageKey)
    : m_authenticator(authenticator)
    , m_hsm(hsm)
    , m_imageKey(std::move(imageKey)) {}

Result<OtpKeyOutcome> OtpKeyStep::ensure(flashing::DeviceClient& device,
                                         const GenuineChip& chip) const {
    const QString where =
        QStringLiteral("%1: burn image key into chip %2")
            .arg(device.port().endpoint, QString::fromLatin1(chip.chipUid.toHex()));
    KL_TRY_ASSIGN(protocol::OtpStatusResponse status, device.otpStatus());
    auto outcome = status.burned ? confirmBurned(status) : burn(device, chip);
    if (!outcome)
        return std::move(outcome).error().context(where);
    return outcome;
}

Result<OtpKeyOutcome> OtpKeyStep::confirmBurned(const protocol::OtpStatusResponse& status) const {
    KL_TRY_ASSIGN(QByteArray expected, m_hsm.keyCheckValue(m_imageKey));
    if (status.keyCheckValue != expected)
        return otherKeyBurned(status.keyCheckValue);
    return OtpKeyOutcome{false, status.keyCheckValue};
}

Result<OtpKeyOutcome> OtpKeyStep::burn(flashing::DeviceClient& device,
                                       const GenuineChip& chip) const {
    KL_TRY_ASSIGN(protocol::EphemeralKeyResponse ephemeral, device.ephemeralKey());
    // The agreed key must be the genuine chip's: a key from anything else (a man in the middle
    // on the cable, a swapped device) would receive the image key. Checked before the HSM is
    // asked for anything.
    KL_TRY(m_authenticator.verifyEphemeralKey(chip, ephemeral));
    KL_TRY_ASSIGN(hsm::ImageKeyBurn wrapped,
                  m_hsm.wrapImageKeyForDevice(m_imageKey, ephemeral.publicKey));

    auto answer = device.burnOtpKey({wrapped.stationPublicKey, wrapped.wrappedKey});
    if (!answer) {
        // otp-status said blank a moment ago; another station (or a bug) got there first.
        if (answer.error().code() == ErrorCode::DeviceRefused &&
            answer.error().detail() == int(protocol::DeviceError::OtpAlreadyBurned))
            return Error(ErrorCode::Refused,
                         QStringLiteral("the device answers otp-already-burned although it "
                                        "reported blank OTP; device must be scrapped; it is never "
                                        "burned twice"));
        return std::move(answer).error();
    }
    if (!answer->burned || answer->keyCheckValue != wrapped.expectedKcv)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("after otp-burn the device reports KCV %1, the HSM's image "
                                    "key has KCV %2: the device did not burn the image key")
                         .arg(answer->burned ? kcvText(answer->keyCheckValue)
                                             : QStringLiteral("none (not burned)"),
                              kcvText(wrapped.expectedKcv)));
    return OtpKeyOutcome{true, answer->keyCheckValue};
}

} // namespace keyline::provisioning
