#include "flashing/commands.h"
#include "sim/simulator.h"

#include <array>

namespace keyline::sim {
namespace {

enum class ArgumentKind { None, Count, CommandName };

struct FaultEntry {
    FaultKind kind;
    const char* name;
    ArgumentKind argument;
};

constexpr std::array kFaults{
    FaultEntry{FaultKind::DisconnectAfterBytes, "disconnect-after-bytes", ArgumentKind::Count},
    FaultEntry{FaultKind::DisconnectAt, "disconnect-at", ArgumentKind::CommandName},
    FaultEntry{FaultKind::CorruptChunk, "corrupt-chunk", ArgumentKind::Count},
    FaultEntry{FaultKind::BrownoutAtCommit, "brownout-at-commit", ArgumentKind::None},
    FaultEntry{FaultKind::Counterfeit, "counterfeit", ArgumentKind::None},
    FaultEntry{FaultKind::OtpBurnedOther, "otp-burned-other", ArgumentKind::None},
    FaultEntry{FaultKind::RngRepeat, "rng-repeat", ArgumentKind::None},
    FaultEntry{FaultKind::Garbage, "garbage", ArgumentKind::None},
    FaultEntry{FaultKind::Flood, "flood", ArgumentKind::None},
};

Error badSpec(const QString& text, const QString& why) {
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("fault \"%1\": %2 (format PORT:KIND[=ARG], e.g. "
                                "\"2:disconnect-at=flash-commit\" or \"*:garbage\")")
                     .arg(text, why));
}

QString knownKinds() {
    QStringList names;
    for (const auto& e : kFaults)
        names.append(QLatin1String(e.name));
    return names.join(QStringLiteral(", "));
}

} // namespace

Timing Timing::realistic() {
    return Timing{};
}

Timing Timing::none() {
    Timing t;
    t.enabled = false;
    return t;
}

QString faultKindName(FaultKind kind) {
    for (const auto& e : kFaults)
        if (e.kind == kind)
            return QLatin1String(e.name);
    return QStringLiteral("unknown");
}

QString faultSpecText(const FaultSpec& spec) {
    QString text = (spec.port == 0 ? QStringLiteral("*") : QString::number(spec.port)) +
                   QLatin1Char(':') + faultKindName(spec.kind);
    if (!spec.argument.isEmpty())
        text += QLatin1Char('=') + spec.argument;
    return text;
}

Result<FaultSpec> parseFaultSpec(const QString& text) {
    const qsizetype colon = text.indexOf(QLatin1Char(':'));
    if (colon <= 0)
        return badSpec(text, QStringLiteral("no PORT: in front"));
    const QString portText = text.left(colon).trimmed();
    FaultSpec spec{};
    if (portText != QLatin1String("*")) {
        bool ok = false;
        spec.port = portText.toInt(&ok);
        if (!ok || spec.port < 1 || spec.port > 999)
            return badSpec(text, QStringLiteral("PORT must be 1 … 999 or *"));
    }
    QString kindText = text.mid(colon + 1).trimmed();
    QString argument;
    const qsizetype equals = kindText.indexOf(QLatin1Char('='));
    const bool hasArgument = equals >= 0;
    if (hasArgument) {
        argument = kindText.mid(equals + 1).trimmed();
        kindText = kindText.left(equals).trimmed();
    }
    const FaultEntry* entry = nullptr;
    for (const auto& e : kFaults)
        if (kindText == QLatin1String(e.name))
            entry = &e;
    if (!entry)
        return badSpec(
            text, QStringLiteral("unknown fault \"%1\"; known: %2").arg(kindText, knownKinds()));
    spec.kind = entry->kind;
    switch (entry->argument) {
    case ArgumentKind::None:
        if (hasArgument)
            return badSpec(text, QStringLiteral("%1 takes no argument").arg(kindText));
        break;
    case ArgumentKind::Count: {
        bool ok = false;
        const qlonglong n = argument.toLongLong(&ok);
        if (!ok || n < 1)
            return badSpec(text,
                           QStringLiteral("%1 needs a positive number, e.g. %1=3").arg(kindText));
        spec.argument = QString::number(n);
        break;
    }
    case ArgumentKind::CommandName:
        if (!protocol::commandFromName(argument))
            return badSpec(text, QStringLiteral("%1 needs a command name such as flash-commit, "
                                                "not \"%2\"")
                                     .arg(kindText, argument));
        spec.argument = argument;
        break;
    }
    return spec;
}

} // namespace keyline::sim
