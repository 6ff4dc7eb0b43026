// Audit export and offline verify of 100,000 records, each as a ratio to `sha256sum` of the
// exported bytes, measured in the same run: an auditor's check should cost little more than
// hashing the file once. Export reads the log from the station database (SQLite), checks its
// hash chain, writes JSONL and signs it with the audit key in the HSM (detached CMS); verify
// parses every record, re-walks the chain and checks the signature, with no database or HSM.
//
// Usage: bench_audit_export [records=100000]

#include "db/audit_export.h"

#include "bench_util.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "db/transaction.h"
#include "hsm/key_inventory.h"
#include "hsm/x509_sign.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <algorithm>

using namespace keyline;
using namespace keyline::bench;

namespace {

double seconds(const QElapsedTimer& t) {
    return double(t.nsecsElapsed()) / 1e9;
}

// A production-like log: per device the events a run writes, with the details they carry.
void fillLog(db::Database& database, int records) {
    db::AuditLog log(database, QStringLiteral("bench-station"));
    const int perTransaction = 1000;
    for (int done = 0; done < records;) {
        auto tx = need(database.begin(), "begin");
        for (int i = 0; i < perTransaction && done < records; ++i, ++done) {
            const QString device =
                QStringLiteral("BENCH-%1").arg(done / 8, 5, 10, QLatin1Char('0'));
            need(
                log.append({QStringLiteral("bench"),
                            QStringLiteral("BENCH"),
                            QStringLiteral("step.completed"),
                            {{QStringLiteral("device"), device},
                             {QStringLiteral("step"), QStringLiteral("certificate")},
                             {QStringLiteral("detail"),
                              QStringLiteral("serial 4f2a%1, P-256, valid 3650 days").arg(done)}}}),
                "append");
        }
        need(tx.commit(), "commit");
    }
}

double sha256sumSeconds(const QString& path) {
    QElapsedTimer t;
    t.start();
    QProcess p;
    p.start(QStringLiteral("sha256sum"), {path});
    if (!p.waitForFinished(-1) || p.exitCode() != 0)
        die(QStringLiteral("sha256sum failed: ") +
            QString::fromLocal8Bit(p.readAllStandardError()));
    return seconds(t);
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const int records = argc > 1 ? std::atoi(argv[1]) : 100000;
    QTemporaryDir dir;
    auto hsm = openDevToken(dir.path());
    db::DatabaseOptions options;
    options.name = dir.filePath(QStringLiteral("keyline.db"));
    auto database = need(db::Database::open(options), "database");
    std::printf("writing %d audit records...\n", records);
    fillLog(*database, records);

    const hsm::KeyUri auditKey = hsm->uriFor(hsm::labels::auditSigning);
    auto signer = need(hsm->signer(auditKey), "audit key");
    QFile rootFile(dir.filePath(QStringLiteral("export/device-root-ca.pem")));
    if (!rootFile.open(QIODevice::ReadOnly))
        die(QStringLiteral("no device root certificate in the dev token's export/"));
    const QByteArray root = rootFile.readAll();
    const QByteArray chain =
        hsm::toPem(
            need(hsm->certificate(hsm->uriFor(hsm::labels::auditSigning, QStringLiteral("cert"))),
                 "audit certificate"),
            "CERTIFICATE") +
        root;

    const QString path = dir.filePath(QStringLiteral("audit.jsonl"));
    double exportBest = 1e9, verifyBest = 1e9, hashBest = 1e9;
    for (int round = 0; round < 3; ++round) {
        QElapsedTimer t;
        t.start();
        need(db::exportAudit(
                 *database,
                 {QString(), db::AuditExportFormat::Jsonl, path, QStringLiteral("bench-station")},
                 *signer, chain),
             "export");
        exportBest = std::min(exportBest, seconds(t));
        t.restart();
        need(db::verifyAuditExport(path, root), "verify");
        verifyBest = std::min(verifyBest, seconds(t));
        hashBest = std::min(hashBest, sha256sumSeconds(path));
    }
    const double mb = double(QFileInfo(path).size()) / 1e6;
    std::printf("audit export and verify, %d records (%.1f MB of JSONL), best of 3\n", records, mb);
    std::printf("  %-40s %8.3f s\n", "baseline: sha256sum of the export", hashBest);
    std::printf("  %-40s %8.3f s   ratio %.1f\n", "keyline audit export (chain + sign)", exportBest,
                exportBest / hashBest);
    std::printf("  %-40s %8.3f s   ratio %.1f\n", "keyline audit verify (offline)", verifyBest,
                verifyBest / hashBest);
    summaryRow("audit export, 100k records", exportBest, "s", "sha256sum of the export", hashBest,
               exportBest / hashBest, "report", true);
    summaryRow("audit verify, 100k records", verifyBest, "s", "sha256sum of the export", hashBest,
               verifyBest / hashBest, "report", true);
    return 0;
}
