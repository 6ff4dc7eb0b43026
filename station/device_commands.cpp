#include "flashing/device_client.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/station_context.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::station {
namespace {

using protocol::IdentifyInfo;

const char* kDeviceHelp = R"(Usage: keyline device <list|identify> [options]

  list                      the ports that have a device plugged in, with their transport
  identify [--port P]...    ask each device who it is and check that its chip is genuine:
                            its identity certificate must chain to the silicon vendor root
                            ([trust] silicon_vendor_root) and sign a fresh challenge.
                            PASS: identified and genuine. FAIL: the reason, in one line.

Options:
  --port P     only this port (as `device list` names it, e.g. sim:port-03); repeatable
  --json       one JSON document on stdout (stable; see docs/operator-guide.md)

Exit codes: 0 every device PASS, 1 a device FAIL, 2 bad usage, 3 no device directory,
no trust root, or no device found.
)";

QString provisionedText(const IdentifyInfo& id) {
    QStringList held;
    if (id.has(protocol::HasOtpKey))
        held << QStringLiteral("otp-key");
    if (id.has(protocol::HasKeystore))
        held << QStringLiteral("keystore");
    if (id.has(protocol::HasDeviceKey))
        held << QStringLiteral("device-key");
    if (id.has(protocol::HasCertificate))
        held << QStringLiteral("certificate");
    if (id.has(protocol::HasFirmware))
        held << QStringLiteral("firmware");
    return held.isEmpty() ? QStringLiteral("-") : held.join(QLatin1Char(','));
}

struct Identified {
    flashing::PortInfo port;
    std::optional<IdentifyInfo> info;
    bool genuine = false;
    QString problem; // empty when PASS
};

Identified identifyOne(StationContext& station, const flashing::PortInfo& port,
                       const std::optional<provisioning::ChipAuthenticator>& authenticator) {
    Identified r{port, std::nullopt, false, {}};
    auto transport = station.openPort(port);
    if (!transport) {
        r.problem = transport.error().toString();
        return r;
    }
    flashing::DeviceClient client(std::move(*transport), station.deviceTimeouts());
    auto info = client.identify();
    if (!info) {
        r.problem = info.error().toString();
        return r;
    }
    r.info = *info;
    if (!authenticator) {
        r.problem = QStringLiteral("genuineness not checked: no silicon vendor root");
        return r;
    }
    QByteArray nonce = provisioning::freshNonce();
    auto answer = client.challenge(nonce);
    if (!answer) {
        r.problem = answer.error().toString();
        return r;
    }
    auto chip = authenticator->verify(info->chipUid, nonce, *answer);
    if (!chip) {
        r.problem = chip.error().toString();
        return r;
    }
    r.genuine = true;
    return r;
}

QJsonObject toJson(const Identified& r) {
    QJsonObject o{{QStringLiteral("port"), r.port.endpoint},
                  {QStringLiteral("result"),
                   r.problem.isEmpty() ? QStringLiteral("PASS") : QStringLiteral("FAIL")},
                  {QStringLiteral("genuine"), r.genuine}};
    if (!r.problem.isEmpty())
        o.insert(QStringLiteral("reason"), r.problem);
    if (r.info) {
        o.insert(QStringLiteral("chip_uid"), QString::fromLatin1(r.info->chipUid.toHex()));
        o.insert(QStringLiteral("hardware_revision"), r.info->hardwareRevision);
        o.insert(QStringLiteral("boot_rom_version"), r.info->bootRomVersion);
        o.insert(QStringLiteral("lifecycle"), protocol::lifecycleName(r.info->lifecycle));
        o.insert(QStringLiteral("max_chunk"), qint64(r.info->maxChunk));
        o.insert(QStringLiteral("holds"), provisionedText(*r.info));
    }
    return o;
}

// Columns as wide as their widest cell, so long hardware strings do not break the layout.
void printTable(Cli& cli, const QList<Identified>& results) {
    const QStringList header{QStringLiteral("PORT"),     QStringLiteral("RESULT"),
                             QStringLiteral("CHIP UID"), QStringLiteral("HARDWARE"),
                             QStringLiteral("BOOT ROM"), QStringLiteral("STATE"),
                             QStringLiteral("HOLDS")};
    QList<QStringList> rows{header};
    for (const auto& r : results) {
        QStringList row{r.port.endpoint,
                        r.problem.isEmpty() ? QStringLiteral("PASS") : QStringLiteral("FAIL")};
        if (r.info)
            row << QString::fromLatin1(r.info->chipUid.toHex()) << r.info->hardwareRevision
                << r.info->bootRomVersion << protocol::lifecycleName(r.info->lifecycle)
                << provisionedText(*r.info);
        rows.append(row);
    }
    QList<qsizetype> widths(header.size(), 0);
    for (const auto& row : rows)
        for (qsizetype i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    for (qsizetype n = 0; n < rows.size(); ++n) {
        const QStringList& row = rows[n];
        QString line;
        for (qsizetype i = 0; i < row.size(); ++i)
            line += row[i].leftJustified(widths[i] + 2);
        cli.out << line.trimmed() << "\n";
        if (n > 0 && !results[n - 1].problem.isEmpty())
            cli.out << QString(widths[0] + 2, QLatin1Char(' '))
                    << "reason: " << results[n - 1].problem << "\n";
    }
}

int listDevices(Cli& cli, StationContext& station, bool json) {
    QStringList problems;
    QList<flashing::PortInfo> ports = station.scanPorts(&problems);
    if (json) {
        QJsonArray array;
        for (const auto& p : ports)
            array.append(QJsonObject{{QStringLiteral("port"), p.endpoint},
                                     {QStringLiteral("kind"), p.kind},
                                     {QStringLiteral("description"), p.description}});
        QJsonObject doc{{QStringLiteral("ports"), array},
                        {QStringLiteral("problems"), QJsonArray::fromStringList(problems)}};
        cli.out << QJsonDocument(doc).toJson(QJsonDocument::Indented);
    } else {
        for (const auto& p : ports)
            cli.out << p.endpoint.leftJustified(14) << " " << p.kind.leftJustified(4) << " "
                    << p.description << "\n";
        for (const auto& problem : problems)
            cli.err << "keyline: warning: " << problem << "\n";
        if (ports.isEmpty())
            cli.err << "keyline: no device found; plug a device in or start keyline-wearable-sim\n";
    }
    return ports.isEmpty() ? 3 : 0;
}

int identifyDevices(Cli& cli, StationContext& station, const QStringList& only, bool json) {
    QStringList problems;
    QList<flashing::PortInfo> ports = station.scanPorts(&problems);
    if (!only.isEmpty()) {
        QList<flashing::PortInfo> chosen;
        for (const QString& name : only) {
            auto it = std::find_if(ports.begin(), ports.end(),
                                   [&](const auto& p) { return p.endpoint == name; });
            if (it == ports.end())
                return cli.fail(3, QStringLiteral("no device on port %1; `keyline device list` "
                                                  "shows the ports that have one")
                                       .arg(name));
            chosen.append(*it);
        }
        ports = chosen;
    }
    if (ports.isEmpty()) {
        for (const auto& problem : problems)
            cli.err << "keyline: warning: " << problem << "\n";
        return cli.fail(3, QStringLiteral("no device found; plug a device in or start "
                                          "keyline-wearable-sim"));
    }
    std::optional<provisioning::ChipAuthenticator> authenticator;
    auto auth = station.chipAuthenticator();
    if (auth)
        authenticator = std::move(*auth);

    QList<Identified> results;
    for (const auto& port : ports)
        results.append(identifyOne(station, port, authenticator));

    bool allPass = std::all_of(results.begin(), results.end(),
                               [](const Identified& r) { return r.problem.isEmpty(); });
    if (json) {
        QJsonArray array;
        for (const auto& r : results)
            array.append(toJson(r));
        cli.out << QJsonDocument(QJsonObject{{QStringLiteral("devices"), array}})
                       .toJson(QJsonDocument::Indented);
    } else {
        printTable(cli, results);
    }
    if (!authenticator)
        return cli.fail(3, auth.error().toString() +
                               QStringLiteral("; copy the silicon vendor's root certificate "
                                              "there (the simulator writes it to its state "
                                              "directory)"));
    return allPass ? 0 : 1;
}

} // namespace

int runDeviceCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QString());
    const QCommandLineOption port(QStringLiteral("port"), QString(), QStringLiteral("P"));
    if (auto done = parseCommandGroup(cli, parser, {json, port}, args, QStringLiteral("device"),
                                      kDeviceHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        cli.err << QString::fromUtf8(kDeviceHelp);
        return 2;
    }
    auto config = loadConfig(cli.configPath);
    if (!config)
        return cli.fail(exitCodeFor(config.error().code()), config.error().toString());
    StationContext station(*config);
    const QString& sub = positional.first();
    if (sub == QLatin1String("list")) {
        if (parser.isSet(port))
            return cli.fail(2, QStringLiteral("device list takes no --port"));
        return listDevices(cli, station, parser.isSet(json));
    }
    if (sub == QLatin1String("identify"))
        return identifyDevices(cli, station, parser.values(port), parser.isSet(json));
    return cli.fail(
        2, QStringLiteral("unknown device subcommand \"%1\"; use list or identify").arg(sub));
}

} // namespace keyline::station
