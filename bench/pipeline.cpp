// Full-pipeline devices per second: `keyline run`'s engine against virtual wearables with
// --timing none (the devices take no time of their own), a small package and durable commits
// (SQLite WAL, synchronous=FULL), every step of DESIGN.md §1 on every device. The figure is a
// ratio to what the station cannot avoid per device, measured in the same run: one raw HSM
// signature followed by one durable commit, in one thread. Goal: >= 300 devices/s on the
// 2-core machine.
//
// Usage: bench_pipeline [devices=320] [slots=16]
// Links: the engine (keyline::provisioning), the station's HSM sealer, the simulator.

#include "bench_line.h"
#include "hsm/pool_signer.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <cstdio>

using namespace keyline;
using namespace keyline::bench;

namespace {

// The baseline: sign a digest in the HSM, then commit a row durably, `n` times in one thread.
double rawSignAndCommit(hsm::Pkcs11Hsm& hsm, const QString& path, int n) {
    db::DatabaseOptions o;
    o.name = path;
    auto database = need(db::Database::open(o), "baseline database");
    need(database->exec(QStringLiteral("CREATE TABLE raw (id INTEGER PRIMARY KEY, sig BLOB)")),
         "baseline table");
    auto signer = std::dynamic_pointer_cast<hsm::PoolSigner>(
        need(hsm.signer(hsm.uriFor(hsm::labels::issuingCa)), "CA key"));
    const QByteArray digest(32, '\x42');
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < n; ++i) {
        const QByteArray sig = need(signer->signDigestRaw(digest), "raw sign");
        auto tx = need(database->begin(), "begin");
        need(database->exec(QStringLiteral("INSERT INTO raw (sig) VALUES (?)"), {sig}), "insert");
        need(tx.commit(), "commit");
    }
    return n / (double(t.nsecsElapsed()) / 1e9);
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const int devices = argc > 1 ? std::atoi(argv[1]) : 320;
    const int slots = argc > 2 ? std::atoi(argv[2]) : 16;
    BenchStation station;
    QTemporaryDir work(QStringLiteral("/tmp/kl-pipe-XXXXXX"));
    const LineRun line =
        runLine(station, work.path(), sim::Timing::none(), devices, slots, 64 * 1024);
    const auto& summary = line.summary;
    const double seconds = double(summary.milliseconds) / 1000.0;
    const double rate = summary.passed / seconds;

    const double baseline =
        rawSignAndCommit(*station.hsm, work.filePath(QStringLiteral("raw.db")), 200);
    std::printf("full pipeline, %d devices, %d slots, --timing none, %d KiB package, durable "
                "commits\n",
                devices, slots, int(line.packageBytes / 1024));
    std::printf("  passed %d, failed %d in %.2f s; %llu database writes in %llu commits\n",
                summary.passed, summary.failed, seconds,
                static_cast<unsigned long long>(line.writes.writes),
                static_cast<unsigned long long>(line.writes.commits));
    std::printf("  %-46s %9.1f /s\n", "keyline: devices provisioned", rate);
    std::printf("  %-46s %9.1f /s\n", "baseline: raw HSM sign + durable commit", baseline);
    std::printf("  %-46s %9.2f\n", "ratio keyline / baseline", rate / baseline);
    std::printf("  goal >= 300 devices/s: %s\n", rate >= 300 ? "MET" : "NOT MET");
    summaryRow("full pipeline, timing none, 16 slots", rate, "/s", "raw HSM sign + durable commit",
               baseline, rate / baseline, ">= 300 /s", rate >= 300);
    return summary.failed == 0 ? 0 : 1;
}
