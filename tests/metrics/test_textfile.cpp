// The node_exporter textfile: replaced whole by a rename, never seen half written, refreshed
// by the export thread and once more when it stops.
#include "metrics/metrics_export.h"
#include "metrics/textfile.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QThread>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace keyline;
using namespace keyline::metrics;

namespace {

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Polls until `ok` holds, for up to two seconds.
template <typename Condition>
bool eventually(Condition ok) {
    for (int i = 0; i < 200; ++i) {
        if (ok())
            return true;
        QThread::msleep(10);
    }
    return ok();
}

} // namespace

TEST_CASE("the textfile holds the exposition and no temporary file is left",
          "[metrics][textfile]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("keyline.prom"));
    REQUIRE(writeTextfile(path, "a 1\n").ok());
    REQUIRE(writeTextfile(path, "a 2\n").ok());
    CHECK(readAll(path) == "a 2\n");
    CHECK(QDir(dir.path()).entryList(QDir::Files) == QStringList{QStringLiteral("keyline.prom")});
    CHECK(QFile::permissions(path) & QFileDevice::ReadOther);
}

TEST_CASE("a reader never sees a half written textfile", "[metrics][textfile]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("keyline.prom"));
    // Two contents of different lengths, large enough to take several write calls.
    const QByteArray a = QByteArray(300000, 'a') + '\n', b = QByteArray(100000, 'b') + '\n';
    REQUIRE(writeTextfile(path, a).ok());
    std::atomic<bool> stop{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
        while (!stop) {
            const QByteArray seen = readAll(path);
            if (seen != a && seen != b)
                ++torn;
            ++reads;
        }
    });
    for (int i = 0; i < 100; ++i)
        REQUIRE(writeTextfile(path, i % 2 ? a : b).ok());
    stop = true;
    reader.join();
    CHECK(reads > 0);
    CHECK(torn == 0);
}

TEST_CASE("a textfile in a missing directory is an Io error naming it", "[metrics][textfile]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("missing/keyline.prom"));
    const Result<void> r = writeTextfile(path, "a 1\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Io);
    CHECK(r.error().toString().contains(path));
}

TEST_CASE("the export refreshes the textfile every interval and at stop", "[metrics][textfile]") {
    QTemporaryDir dir;
    Registry registry;
    Gauge& depth = registry.gauge(QStringLiteral("keyline_outbox_pending"), QStringLiteral("d"));
    std::atomic<int> source{1}, refreshes{0};
    MetricsSettings settings;
    settings.textfile = dir.filePath(QStringLiteral("keyline.prom"));
    settings.intervalMs = 100;
    auto started = MetricsExport::start(registry, settings, [&] {
        depth.set(source);
        ++refreshes;
    });
    REQUIRE(started.ok());
    // Written before start() returns: a wrong directory shows up before the first device.
    CHECK(readAll(settings.textfile).contains("keyline_outbox_pending 1\n"));
    source = 7;
    CHECK(eventually(
        [&] { return readAll(settings.textfile).contains("keyline_outbox_pending 7\n"); }));
    source = 9;
    const int before = refreshes;
    (*started)->stop();
    CHECK(refreshes > before);
    CHECK(readAll(settings.textfile).contains("keyline_outbox_pending 9\n"));
    (*started)->stop(); // idempotent
    CHECK(QDir(dir.path()).entryList(QDir::Files).size() == 1);
}

TEST_CASE("an export whose textfile cannot be written fails to start", "[metrics][textfile]") {
    QTemporaryDir dir;
    Registry registry;
    MetricsSettings settings;
    settings.textfile = dir.filePath(QStringLiteral("nowhere/keyline.prom"));
    auto started = MetricsExport::start(registry, settings, {});
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code() == ErrorCode::Io);
}
