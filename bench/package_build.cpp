// Building an OS + application package with a 64 MB OS through the HSM (SoftHSM2 token made in
// a temp dir), as a ratio to `openssl enc -aes-256-ctr` plus `sha256sum` over the same bytes,
// run as processes on a temp file in the same run: the least any tool must do to encrypt and
// hash the OS. Goal: ratio <= 1.5.
//
// Timed for the package: reading the firmware tree (the 64 MB component from disk, hashed),
// signing the application and the manifest with the development key in the HSM, AES-256-GCM
// in the HSM in 2 MiB chunks, writing the package file.
//
// Usage: bench_package_build [os_mib=64] [rounds=3]
// Links: keyline::station (the HSM sealer), keyline::firmware_image, keyline::hsm.

#include "bench_util.h"
#include "firmware_image/firmware_tree.h"
#include "firmware_image/package.h"
#include "hsm/dev_token.h"
#include "hsm/key_inventory.h"
#include "station/package_sealer.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <algorithm>
#include <cstdio>

using namespace keyline;
using namespace keyline::bench;

namespace {

void writeFile(const QString& path, const QByteArray& data) {
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size())
        die(QStringLiteral("cannot write ") + path);
}

double runProcess(const QString& program, const QStringList& args) {
    QElapsedTimer t;
    t.start();
    QProcess p;
    p.setStandardOutputFile(QProcess::nullDevice());
    p.start(program, args);
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        die(program + QStringLiteral(" failed: ") +
            QString::fromLocal8Bit(p.readAllStandardError()));
    return double(t.nsecsElapsed()) / 1e9;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const qint64 mib = argc > 1 ? std::atoll(argv[1]) : 64;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;

    QTemporaryDir dir;
    const QDir d(dir.path());
    auto token = openDevToken(dir.path());
    auto devSigner = need(token->signer(token->uriFor(hsm::labels::devAppSigning)), "dev key");

    // A tree whose OS is one 64 MB file (pseudo-random, so nothing compresses or short-cuts).
    std::printf("preparing a %lld MiB OS image...\n", mib);
    const QString tree = d.filePath(QStringLiteral("tree"));
    const QString osImage = d.filePath(QStringLiteral("tree/os/os.img"));
    writeFile(osImage,
              need(firmware::generatePayload(QStringLiteral("bench os"), mib << 20), "generate"));
    writeFile(d.filePath(QStringLiteral("tree/manifest.json")),
              R"({"format": 1, "application": "app", "os": {"security_counter": 1,
                 "hardware": ["KW-1 rev B"], "components": [
                 {"name": "os", "version": "1.0", "file": "os/os.img"}]}})");
    writeFile(d.filePath(QStringLiteral("tree/app/keyline-app.json")),
              R"({"name": "bench-app", "version": "1.0", "counter": 1,
                 "hardware": ["KW-1 rev B"]})");
    writeFile(d.filePath(QStringLiteral("tree/app/bin/app")), QByteArray(256 * 1024, 'a'));
    const QString output = d.filePath(QStringLiteral("out.klpk"));

    station::HsmOsSealer sealer(*token,
                                token->uriFor(hsm::labels::imageKey, QStringLiteral("secret")));
    auto buildOnce = [&] {
        QElapsedTimer t;
        t.start();
        auto fw = need(firmware::readFirmwareTree(tree), "read tree");
        auto appDir = need(firmware::readAppDirectory(fw.applicationDir), "read app");
        const firmware::AppRelease rel{QStringLiteral("bench-co"),
                                       firmware::Environment::Development,
                                       appDir.name,
                                       appDir.version,
                                       appDir.counter,
                                       appDir.hardware};
        firmware::PackageInput in{
            QStringLiteral("1.0"), fw.osCounter, fw.osHardware, std::move(fw.components),
            need(firmware::buildSignedApp(rel, appDir.image, *devSigner), "sign app")};
        QFile out(output);
        if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate))
            die(QStringLiteral("cannot write the package"));
        need(firmware::writePackage(in, sealer, devSigner.get(), out), "build package");
        out.close();
        return double(t.nsecsElapsed()) / 1e9;
    };
    const QStringList encArgs{QStringLiteral("enc"),  QStringLiteral("-aes-256-ctr"),
                              QStringLiteral("-K"),   QString(64, QLatin1Char('7')),
                              QStringLiteral("-iv"),  QString(32, QLatin1Char('0')),
                              QStringLiteral("-in"),  osImage,
                              QStringLiteral("-out"), d.filePath(QStringLiteral("ctr.bin"))};

    // Warm-up: page cache, the module's lazy set-up, process start-up.
    buildOnce();
    runProcess(QStringLiteral("openssl"), encArgs);
    runProcess(QStringLiteral("sha256sum"), {osImage});

    // Best of `rounds` for each, interleaved so both see the same machine load.
    double build = 1e9, enc = 1e9, hash = 1e9;
    for (int i = 0; i < rounds; ++i) {
        build = std::min(build, buildOnce());
        enc = std::min(enc, runProcess(QStringLiteral("openssl"), encArgs));
        hash = std::min(hash, runProcess(QStringLiteral("sha256sum"), {osImage}));
    }
    // The package is real: it parses, and its size is what the header says.
    QFile built(output);
    if (!built.open(QIODevice::ReadOnly))
        die(QStringLiteral("no package written"));
    const QByteArray bytes = built.readAll();
    need(firmware::parsePackage(bytes), "parse the package built");

    const double baseline = enc + hash;
    const double mb = double(mib << 20) / 1e6;
    std::printf("\npackage build with a %lld MiB OS through the HSM (SoftHSM2), best of %d\n", mib,
                rounds);
    std::printf("  keyline package build            %7.3f s  %7.1f MB/s  (%lld bytes)\n", build,
                mb / build, qint64(bytes.size()));
    std::printf("  openssl enc -aes-256-ctr         %7.3f s  %7.1f MB/s\n", enc, mb / enc);
    std::printf("  sha256sum                        %7.3f s  %7.1f MB/s\n", hash, mb / hash);
    std::printf("  baseline (enc + sha256sum)       %7.3f s\n", baseline);
    std::printf("HEADLINE build / (openssl enc + sha256sum): %.2f (goal <= 1.5: %s)\n",
                build / baseline, build / baseline <= 1.5 ? "met" : "NOT met");
    summaryRow("package build, time", build, "s", "openssl enc + sha256sum", baseline,
               build / baseline, "<= 1.5", build / baseline <= 1.5);
    return 0;
}
