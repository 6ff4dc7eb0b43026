// `keyline audit export|verify`: the signed audit export an auditor takes away, and its offline
// check (docs/audit.md). Export reads the database and signs in the HSM; verify needs neither.

#include "db/audit_export.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "hsm/x509_sign.h"
#include "station/audit_chain.h"
#include "station/audit_clock_command.h"
#include "station/audit_verify_report.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/station_context.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonObject>

namespace keyline::station {
namespace {

const char* kAuditHelp = R"(Usage: keyline audit <export|verify|clock-set-back> [options]

  export (--order ID | --all) [--station ID] [--format jsonl|csv] -o FILE [--operator NAME]
        check the hash chain in the station database, then write the records (FILE) and a
        detached CMS signature made with the station audit key in the HSM (FILE.p7s). A broken
        chain in the database is reported with its position and nothing is exported. The
        export is itself an audit entry (audit.exported), with the operator when one is named.
  verify FILE [--ca ROOT.pem] [--signature P7S] [--json]
        offline check, no database and no HSM: every record's hash and link, the anchors, and
        the signature up to the trusted root (default <data_dir>/export/device-root-ca.pem).
        PASS, or FAIL with the line and the reason of the first problem.
  clock-set-back --operator NAME
        a supervisor or engineer records that the station clock was set back behind the
        newest audit entry (it had run ahead). Until then `keyline run` refuses the clock,
        because the log's times would go backwards unexplained (docs/failure-modes.md).

Options:
  --order ID        export one order's entries (their own chain; nothing of other orders)
  --all             export the station's whole chain
  --station ID      whose chain: each station of a line has its own (default: this station,
                    [station] name); the check before exporting covers every station's chain
  --format F        jsonl (default) or csv
  -o, --output F    the records file; the signature goes to F.p7s (both replaced atomically)
  --operator NAME   who exports (optional) or sets the clock back (PIN from
                    $KEYLINE_OPERATOR_PIN or a prompt)
  --ca ROOT.pem     the trusted root certificate(s) for verify
  --signature P7S   the signature file for verify (default FILE.p7s)
  --json            verify: one JSON document on stdout (docs/audit.md)

Exit codes: export 0 written, 1 the database chain is broken or the operator is refused,
2 bad usage or an order without audit entries, 3 database or HSM not ready.
verify 0 PASS, 1 FAIL, 2 bad usage or an unreadable or malformed file, 3 no root certificate.

Examples:
  keyline audit export --order PO-17 -o audit-PO-17.jsonl
  keyline audit export --all --format csv -o audit-all.csv --operator alice
  keyline audit verify audit-PO-17.jsonl --ca device-root-ca.pem
)";

const QString kRootFile = QStringLiteral("device-root-ca.pem");

struct ExportArgs {
    QString orderId; // empty: the whole log
    db::AuditExportFormat format = db::AuditExportFormat::Jsonl;
    QString output;
    QString operatorName;
    QString stationId; // empty: this station's own chain
};

QString shellQuoted(const QString& path) {
    static const QString safe = QStringLiteral("-_./:=@%+,");
    for (QChar c : path)
        if (!c.isLetterOrNumber() && !safe.contains(c))
            return QLatin1Char('\'') +
                   QString(path).replace(QLatin1Char('\''), QLatin1String("'\\''")) +
                   QLatin1Char('\'');
    return path;
}

int runExport(Cli& cli, const ExportArgs& a) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    const StationContext station(*config);
    auto database = station.openDatabase();
    if (!database)
        return failWith(cli, database.error());
    db::Database& db = **database;
    QString who;
    if (!a.operatorName.isEmpty()) {
        auto account = authenticateOperator(station, db, a.operatorName);
        if (!account)
            return failWith(cli, account.error());
        who = account->name;
    }
    db::AuditLog log(db, config->stationName);
    // An export of a broken log would carry the break to the auditor signed as if it were
    // sound: nothing is written until the database chain verifies.
    auto chain = log.verifyChain();
    if (!chain)
        return failWith(cli, chain.error());
    if (!chain->intact())
        return cli.fail(1, QStringLiteral("the audit log in %1 is broken at seq %2: %3; nothing "
                                          "was exported")
                               .arg(db.description())
                               .arg(*chain->firstBrokenSeq)
                               .arg(chain->problem));
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    const QString rootPath = QDir(station.exportDir()).filePath(kRootFile);
    auto chainPem = auditChainPem(**hsm, config->auditKey, rootPath);
    if (!chainPem)
        return failWith(cli, chainPem.error());
    auto signer = (*hsm)->signer(config->auditKey);
    if (!signer)
        return failWith(cli, signer.error());
    const QString chainOf = a.stationId.isEmpty() ? config->stationName : a.stationId;
    auto files = db::exportAudit(db, {a.orderId, a.format, a.output, chainOf}, **signer, *chainPem);
    if (!files)
        return failWith(cli, files.error());
    QJsonObject details{{QStringLiteral("scope"),
                         a.orderId.isEmpty() ? QStringLiteral("all") : QStringLiteral("order")},
                        {QStringLiteral("format"), db::auditExportFormatName(a.format)},
                        {QStringLiteral("records"), double(files->anchors.count)},
                        {QStringLiteral("last_hash"), files->anchors.lastHash},
                        {QStringLiteral("file"), QFileInfo(files->recordsPath).fileName()}};
    if (auto entry = log.append({who, a.orderId, QStringLiteral("audit.exported"), details});
        !entry)
        return failWith(cli, entry.error().withContext(QStringLiteral("the export was written "
                                                                      "but could not be recorded "
                                                                      "in the audit log")));
    const bool haveRoot = QFileInfo::exists(rootPath);
    const QString ca = haveRoot ? rootPath : QStringLiteral("ROOT.pem");
    cli.out << "exported " << files->anchors.count << " audit records ("
            << (a.orderId.isEmpty() ? QStringLiteral("whole log")
                                    : QStringLiteral("order ") + a.orderId)
            << ", " << db::auditExportFormatName(a.format) << ")\n"
            << "  records          " << files->recordsPath << "\n"
            << "  signature        " << files->signaturePath << "\n"
            << "  first prev hash  " << files->anchors.firstPrevHash << "\n"
            << "  last hash        " << files->anchors.lastHash << "\n"
            << "  signed by        " << config->auditKey.object << " (HSM)"
            << (who.isEmpty() ? QString() : QStringLiteral(", exported by ") + who) << "\n"
            << "An auditor checks the signature with plain OpenSSL"
            << (haveRoot ? QString() : QStringLiteral(" (ROOT.pem: the device root CA)")) << ":\n"
            << "  openssl cms -verify -binary -inform DER -in " << shellQuoted(files->signaturePath)
            << " -content " << shellQuoted(files->recordsPath) << " -CAfile " << shellQuoted(ca)
            << " -purpose any -out /dev/null\n"
            << "and the chain with: keyline audit verify " << shellQuoted(files->recordsPath)
            << " --ca " << shellQuoted(ca) << "\n";
    return 0;
}

int runVerify(Cli& cli, const QString& file, const QString& signature, QString rootPath,
              bool json) {
    if (rootPath.isEmpty()) {
        auto config = loadConfig(cli.configPath);
        if (!config)
            return failWith(cli, config.error());
        rootPath = QDir(StationContext(*config).exportDir()).filePath(kRootFile);
        if (!QFileInfo::exists(rootPath))
            return cli.fail(3, QStringLiteral("no trusted root certificate at %1: pass --ca "
                                              "ROOT.pem (the device root CA), or for development "
                                              "run 'keyline hsm init-dev'")
                                   .arg(rootPath));
    }
    auto roots = readArgumentFile(rootPath, QStringLiteral("root certificate"), 1024 * 1024);
    if (!roots)
        return failWith(cli, roots.error());
    const AuditVerifyOutcome outcome = verifyAuditFile(file, signature, *roots);
    printAuditVerifyOutcome(cli, outcome, json);
    return outcome.exitCode();
}

int exportCommand(Cli& cli, const QCommandLineParser& parser, const QStringList& positional) {
    if (positional.size() != 1)
        return cli.fail(2, QStringLiteral("audit export takes no file argument; use -o"));
    const bool all = parser.isSet(QStringLiteral("all"));
    ExportArgs a;
    a.orderId = parser.value(QStringLiteral("order"));
    a.output = parser.value(QStringLiteral("output"));
    a.operatorName = parser.value(QStringLiteral("operator"));
    if (all == parser.isSet(QStringLiteral("order")))
        return cli.fail(2, QStringLiteral("audit export needs exactly one of --order ID or --all"));
    if (!all && a.orderId.isEmpty())
        return cli.fail(2, QStringLiteral("--order needs an order ID"));
    if (a.output.isEmpty())
        return cli.fail(2, QStringLiteral("audit export needs -o FILE"));
    if (parser.isSet(QStringLiteral("format"))) {
        auto format = db::parseAuditExportFormat(parser.value(QStringLiteral("format")));
        if (!format)
            return failWith(cli, format.error());
        a.format = *format;
    }
    a.stationId = parser.value(QStringLiteral("station"));
    return runExport(cli, a);
}

} // namespace

int runAuditCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption order(QStringLiteral("order"), QString(), QStringLiteral("ID"));
    const QCommandLineOption all(QStringLiteral("all"), QString());
    const QCommandLineOption format(QStringLiteral("format"), QString(), QStringLiteral("F"));
    const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QString(),
                                    QStringLiteral("FILE"));
    const QCommandLineOption operatorName(QStringLiteral("operator"), QString(),
                                          QStringLiteral("NAME"));
    const QCommandLineOption ca(QStringLiteral("ca"), QString(), QStringLiteral("PEM"));
    const QCommandLineOption signature(QStringLiteral("signature"), QString(),
                                       QStringLiteral("P7S"));
    const QCommandLineOption json(QStringLiteral("json"), QString());
    const QCommandLineOption station(QStringLiteral("station"), QString(), QStringLiteral("ID"));
    if (auto done = parseCommandGroup(
            cli, parser, {order, all, format, output, operatorName, ca, signature, json, station},
            args, QStringLiteral("audit"), kAuditHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const QString& sub = positional.first();
    const QString helpCommand = QStringLiteral("keyline audit");
    if (sub == QLatin1String("export")) {
        if (int rc = rejectForeignOptions(cli, parser, QStringLiteral("audit export"),
                                          {QStringLiteral("order"), QStringLiteral("all"),
                                           QStringLiteral("format"), QStringLiteral("o"),
                                           QStringLiteral("output"), QStringLiteral("operator"),
                                           QStringLiteral("station")},
                                          helpCommand))
            return rc;
        return exportCommand(cli, parser, positional);
    }
    if (sub == QLatin1String("verify")) {
        if (positional.size() != 2)
            return cli.fail(2, QStringLiteral("audit verify needs exactly one FILE"));
        if (int rc = rejectForeignOptions(
                cli, parser, QStringLiteral("audit verify"),
                {QStringLiteral("ca"), QStringLiteral("signature"), QStringLiteral("json")},
                helpCommand))
            return rc;
        return runVerify(cli, positional.at(1), parser.value(signature), parser.value(ca),
                         parser.isSet(json));
    }
    if (sub == QLatin1String("clock-set-back")) {
        if (positional.size() != 1 || !parser.isSet(operatorName))
            return cli.fail(2, QStringLiteral("audit clock-set-back needs --operator NAME and "
                                              "nothing else"));
        if (int rc = rejectForeignOptions(cli, parser, QStringLiteral("audit clock-set-back"),
                                          {QStringLiteral("operator")}, helpCommand))
            return rc;
        return runClockSetBack(cli, parser.value(operatorName));
    }
    return cli.fail(2, QStringLiteral("unknown audit subcommand \"%1\"; use export, verify or "
                                      "clock-set-back")
                           .arg(sub));
}

} // namespace keyline::station
