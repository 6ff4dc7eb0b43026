#include "station/run_display.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::station {

namespace {

QString kindName(provisioning::JobEventKind kind) {
    switch (kind) {
    case provisioning::JobEventKind::Started:
        return QStringLiteral("started");
    case provisioning::JobEventKind::Assigned:
        return QStringLiteral("assigned");
    case provisioning::JobEventKind::StepStarted:
        return QStringLiteral("step-started");
    case provisioning::JobEventKind::StepDone:
        return QStringLiteral("step-done");
    case provisioning::JobEventKind::FlashProgress:
        return QStringLiteral("flash-progress");
    case provisioning::JobEventKind::Finished:
        return QStringLiteral("finished");
    }
    return QStringLiteral("unknown");
}

QString line(const QJsonObject& o) {
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

} // namespace

RunDisplay::RunDisplay(Cli& cli, bool json)
    : m_cli(cli)
    , m_json(json) {}

void RunDisplay::onEvent(const provisioning::JobEvent& event) {
    std::lock_guard lock(m_mutex);
    if (m_json)
        printJson(event);
    else
        printText(event);
    m_cli.out.flush();
}

void RunDisplay::printJson(const provisioning::JobEvent& e) {
    QJsonObject o{
        {QStringLiteral("event"), kindName(e.kind)},
        {QStringLiteral("time"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)},
        {QStringLiteral("port"), e.port}};
    if (!e.deviceId.isEmpty())
        o.insert(QStringLiteral("deviceId"), e.deviceId);
    if (!e.chipUid.isEmpty())
        o.insert(QStringLiteral("chipUid"), QString::fromLatin1(e.chipUid.toHex()));
    if (e.step)
        o.insert(QStringLiteral("step"), provisioning::stepName(*e.step));
    if (e.kind == provisioning::JobEventKind::FlashProgress)
        o.insert(QStringLiteral("fraction"), e.fraction);
    if (e.kind == provisioning::JobEventKind::StepDone ||
        e.kind == provisioning::JobEventKind::Finished) {
        o.insert(QStringLiteral("ok"), e.ok);
        o.insert(QStringLiteral("detail"), e.detail);
    }
    m_cli.out << line(o) << '\n';
}

void RunDisplay::printText(const provisioning::JobEvent& e) {
    // One line per device event worth a person's attention: assignment, each step, the end.
    // Flash progress every 25 %, so a terminal log stays readable at 16 slots.
    const QString who = e.deviceId.isEmpty() ? e.port : e.deviceId;
    switch (e.kind) {
    case provisioning::JobEventKind::Started:
    case provisioning::JobEventKind::StepStarted:
        return;
    case provisioning::JobEventKind::Assigned:
        m_cli.out << QStringLiteral("%1  %2  chip %3\n")
                         .arg(e.port, -14)
                         .arg(e.deviceId)
                         .arg(QString::fromLatin1(e.chipUid.toHex()));
        return;
    case provisioning::JobEventKind::FlashProgress: {
        const int percent = int(e.fraction * 100 + 0.5);
        if (percent % 25 == 0 && percent > 0 && percent < 100)
            m_cli.out
                << QStringLiteral("%1  %2  flash %3 %\n").arg(e.port, -14).arg(who).arg(percent);
        return;
    }
    case provisioning::JobEventKind::StepDone:
        m_cli.out << QStringLiteral("%1  %2  %3 ok: %4\n")
                         .arg(e.port, -14)
                         .arg(who)
                         .arg(e.step ? provisioning::stepName(*e.step) : QString(), -11)
                         .arg(e.detail);
        return;
    case provisioning::JobEventKind::Finished:
        m_cli.out << QStringLiteral("%1  %2  %3%4\n")
                         .arg(e.port, -14)
                         .arg(who)
                         .arg(e.ok ? QStringLiteral("PASS") : QStringLiteral("FAIL"))
                         .arg(e.ok ? QString()
                                   : QStringLiteral(" at %1: %2")
                                         .arg(e.step ? provisioning::stepName(*e.step)
                                                     : QStringLiteral("?"),
                                              e.detail));
        return;
    }
}

void RunDisplay::printReport(const provisioning::RunSummary& s, const QString& orderId) {
    std::lock_guard lock(m_mutex);
    if (m_json) {
        QJsonArray devices;
        for (const auto& d : s.devices) {
            QJsonObject o{{QStringLiteral("port"), d.port},
                          {QStringLiteral("deviceId"), d.deviceId},
                          {QStringLiteral("chipUid"), QString::fromLatin1(d.chipUid.toHex())},
                          {QStringLiteral("result"),
                           d.pass ? QStringLiteral("PASS") : QStringLiteral("FAIL")},
                          {QStringLiteral("alreadyProvisioned"), d.alreadyProvisioned},
                          {QStringLiteral("scrapped"), d.scrapped},
                          {QStringLiteral("milliseconds"), double(d.milliseconds)}};
            if (!d.pass) {
                o.insert(QStringLiteral("step"),
                         d.failedStep ? provisioning::stepName(*d.failedStep) : QString());
                o.insert(QStringLiteral("reason"), d.reason);
                o.insert(QStringLiteral("errorCode"),
                         d.errorCode ? errorCodeName(*d.errorCode) : QString());
            }
            devices.append(o);
        }
        m_cli.out << line(QJsonObject{{QStringLiteral("event"), QStringLiteral("report")},
                                      {QStringLiteral("order"), orderId},
                                      {QStringLiteral("passed"), s.passed},
                                      {QStringLiteral("failed"), s.failed},
                                      {QStringLiteral("alreadyProvisioned"), s.alreadyProvisioned},
                                      {QStringLiteral("notNeeded"), s.notNeeded},
                                      {QStringLiteral("seconds"), double(s.milliseconds) / 1000.0},
                                      {QStringLiteral("unitsPerHour"), s.unitsPerHour()},
                                      {QStringLiteral("stopReason"), s.stopReason},
                                      {QStringLiteral("devices"), devices}})
                  << '\n';
        m_cli.out.flush();
        return;
    }
    m_cli.out << "\nrun report, order " << orderId << " (" << s.stopReason << ")\n";
    for (const auto& d : s.devices) {
        m_cli.out << "  " << (d.pass ? "PASS" : "FAIL") << "  "
                  << (d.deviceId.isEmpty() ? QStringLiteral("-") : d.deviceId).leftJustified(18)
                  << ' ' << d.port.leftJustified(14);
        if (d.alreadyProvisioned)
            m_cli.out << " already provisioned";
        else if (!d.pass)
            m_cli.out << " at "
                      << (d.failedStep ? provisioning::stepName(*d.failedStep)
                                       : QStringLiteral("?"))
                      << (d.scrapped ? " (scrapped)" : "") << ": " << d.reason;
        m_cli.out << '\n';
    }
    m_cli.out << QStringLiteral("total: %1 passed, %2 failed, %3 already provisioned in %4 s; "
                                "%5 units/hour\n")
                     .arg(s.passed)
                     .arg(s.failed)
                     .arg(s.alreadyProvisioned)
                     .arg(double(s.milliseconds) / 1000.0, 0, 'f', 1)
                     .arg(s.unitsPerHour(), 0, 'f', 0);
    if (s.notNeeded > 0)
        m_cli.out << s.notNeeded
                  << " device(s) plugged in after the order was complete were left untouched\n";
    m_cli.out.flush();
}

} // namespace keyline::station
