// libFuzzer target for the station configuration loader (station/config.cpp): keyline.conf is
// read with QSettings, which takes a path, so each input is written to one file in a private
// temp folder and loaded from there, as `keyline --config FILE` would.
// Seeds: tests/fuzz/corpus/fuzz_config/ (packaging's default file and a line station's).
//
// Properties checked beyond "no crash":
//  - a refusal is BadInput or InvalidArgument and one line, whatever the file's values hold;
//  - what loads obeys the documented ranges (command timeout, transports, back-end timeout),
//    and loading the same file again gives the same result.

#include "station/config.h"

#include <QFile>
#include <QTemporaryDir>
#include <cstdint>
#include <cstdlib>

using namespace keyline::station;

namespace {

bool sameConfig(const StationConfig& a, const StationConfig& b) {
    return a.stationName == b.stationName && a.dataDir == b.dataDir &&
           a.databaseUrl == b.databaseUrl && a.transports == b.transports &&
           a.commandTimeoutMs == b.commandTimeoutMs && a.hsmPin == b.hsmPin &&
           a.backend.url == b.backend.url && a.backend.timeoutMs == b.backend.timeoutMs;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024)
        return 0;
    static QTemporaryDir dir;
    static const QString path = dir.filePath(QStringLiteral("keyline.conf"));
    {
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
            std::abort();
        f.write(reinterpret_cast<const char*>(data), qint64(size));
        // Owner-only, so that a file with [hsm] pin gets past the permission check.
        f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }
    auto config = loadConfig(path);
    if (!config.ok()) {
        const keyline::Error& e = config.error();
        if ((e.code() != keyline::ErrorCode::BadInput &&
             e.code() != keyline::ErrorCode::InvalidArgument) ||
            e.toString().contains(QLatin1Char('\n')) || e.toString().contains(QLatin1Char('\r')))
            std::abort();
        return 0;
    }
    if (config->commandTimeoutMs < 100 || config->commandTimeoutMs > 600000 ||
        config->backend.timeoutMs <= 0)
        std::abort();
    for (const QString& t : config->transports)
        if (t != QLatin1String("sim") && t != QLatin1String("usb"))
            std::abort();
    auto again = loadConfig(path);
    if (!again.ok() || !sameConfig(*config, *again))
        std::abort();
    return 0;
}
