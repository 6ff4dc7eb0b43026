#include "common/error.h"

namespace keyline {

QString errorCodeName(ErrorCode code) {
    switch (code) {
    case ErrorCode::InvalidArgument:
        return QStringLiteral("invalid-argument");
    case ErrorCode::BadInput:
        return QStringLiteral("bad-input");
    case ErrorCode::NotFound:
        return QStringLiteral("not-found");
    case ErrorCode::EnvironmentNotReady:
        return QStringLiteral("environment-not-ready");
    case ErrorCode::Io:
        return QStringLiteral("io");
    case ErrorCode::Timeout:
        return QStringLiteral("timeout");
    case ErrorCode::Disconnected:
        return QStringLiteral("disconnected");
    case ErrorCode::ProtocolViolation:
        return QStringLiteral("protocol-violation");
    case ErrorCode::DeviceRefused:
        return QStringLiteral("device-refused");
    case ErrorCode::Refused:
        return QStringLiteral("refused");
    case ErrorCode::VerificationFailed:
        return QStringLiteral("verification-failed");
    case ErrorCode::Internal:
        return QStringLiteral("internal");
    }
    return QStringLiteral("unknown");
}

int exitCodeFor(ErrorCode code) {
    switch (code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::BadInput:
    case ErrorCode::NotFound:
        return 2;
    case ErrorCode::EnvironmentNotReady:
    case ErrorCode::Io:
        return 3;
    default:
        return 1;
    }
}

QString printableText(const QString& text, int maxLength) {
    QString s = text.left(maxLength);
    for (QChar& c : s)
        if (c.unicode() < 0x20 || c.unicode() == 0x7f || c == QChar(0x2028) || c == QChar(0x2029))
            c = QLatin1Char('?');
    return s;
}

QString Error::toString() const {
    if (m_context.isEmpty())
        return m_message;
    return m_context.join(QStringLiteral(": ")) + QStringLiteral(": ") + m_message;
}

} // namespace keyline
