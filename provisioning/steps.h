#pragma once

// The per-device plan of DESIGN.md §1, in order. Each step is an "ensure": it reads the
// device's state first, so running it again after a crash or a pulled cable is safe.

#include <QString>
#include <array>

namespace keyline::provisioning {

enum class Step {
    ChipCheck,   // identify, challenge, genuineness of the chip identity
    OtpKey,      // image decryption key in OTP (wrapped in the HSM, KCV compared)
    Keystore,    // customer keystore stored, hash compared
    Certificate, // device key generated on the device, certificate issued and stored
    Flash,       // OS + application package sent and installed
    Verify,      // secure boot report checked against the order and the certificate
    Lock,        // factory mode left
};

inline constexpr std::array<Step, 7> kAllSteps = {Step::ChipCheck,   Step::OtpKey, Step::Keystore,
                                                  Step::Certificate, Step::Flash,  Step::Verify,
                                                  Step::Lock};

QString stepName(Step step); // "chip-check", "otp-key", ... (stable: database, JSON, audit)

} // namespace keyline::provisioning
