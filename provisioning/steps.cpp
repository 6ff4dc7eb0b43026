#include "provisioning/steps.h"

namespace keyline::provisioning {

QString stepName(Step step) {
    switch (step) {
    case Step::ChipCheck:
        return QStringLiteral("chip-check");
    case Step::OtpKey:
        return QStringLiteral("otp-key");
    case Step::Keystore:
        return QStringLiteral("keystore");
    case Step::Certificate:
        return QStringLiteral("certificate");
    case Step::Flash:
        return QStringLiteral("flash");
    case Step::Verify:
        return QStringLiteral("verify");
    case Step::Lock:
        return QStringLiteral("lock");
    }
    return QStringLiteral("unknown");
}

} // namespace keyline::provisioning
