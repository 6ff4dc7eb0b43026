// Flash throughput over the socket transport, --timing none, against a raw socket copy of the
// same bytes measured in the same run.
//
// Keyline: FlashWriter sends a 64 MiB image to a virtual wearable (flash-begin, pipelined
// flash-chunk frames with CRC, the device storing every chunk in its flash file), timed from
// the start until the last chunk is acknowledged. Baseline: the same bytes written into a Unix
// stream socket in chunks of the same size by one thread, read by another and stored with
// pwrite() into a file — the least any transfer that lands in device flash can cost.
// The image is a real package (the device installs nothing else), built for the device through
// a SoftHSM2 token in a temp dir after the device's OTP key and keystore were set up the
// station's way. The commit (device-side hash, secure-install verification: decrypting and
// authenticating the OS, and the atomic install) is device work, reported separately against a
// plain SHA-256 of the same bytes.
#include "bench_station.h"
#include "flashing/flash_writer.h"
#include "flashing/socket_transport.h"
#include "sim/simulator.h"

#include <QCoreApplication>
#include <QTemporaryDir>
#include <cstdio>
#include <fcntl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace keyline;
using namespace keyline::bench;
using Seconds = std::chrono::duration<double>;

namespace {

constexpr int kImageMiB = 64;
constexpr int kChunk = 256 * 1024;
constexpr int kRepeats = 5;

double rawSocketCopy(const QByteArray& image, const QString& dir) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        qFatal("socketpair failed");
    int buffer = 4 * 1024 * 1024;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    QByteArray path = QFile::encodeName(dir + QStringLiteral("/raw-flash.bin"));
    int file = ::open(path.constData(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const auto total = image.size();

    auto start = Clock::now();
    std::thread receiver([&] {
        QByteArray chunk(kChunk, '\0');
        qsizetype got = 0;
        while (got < total) {
            ssize_t n = ::read(sv[1], chunk.data(), size_t(kChunk));
            if (n <= 0)
                qFatal("raw copy: read failed");
            if (::pwrite(file, chunk.constData(), size_t(n), off_t(got)) != n)
                qFatal("raw copy: pwrite failed");
            got += n;
        }
    });
    qsizetype sent = 0;
    while (sent < total) {
        ssize_t n = ::write(sv[0], image.constData() + sent,
                            size_t(std::min<qsizetype>(kChunk, total - sent)));
        if (n <= 0)
            qFatal("raw copy: write failed");
        sent += n;
    }
    receiver.join();
    double seconds = Seconds(Clock::now() - start).count();
    ::close(sv[0]);
    ::close(sv[1]);
    ::close(file);
    return seconds;
}

struct FlashTiming {
    double transfer = 0;
    double commit = 0;
};

FlashTiming keylineFlash(sim::Simulator& simulator, const QByteArray& bytes) {
    // Hashed once per order in production, so outside the timed transfer.
    const flashing::FlashImage image = flashing::FlashImage::of(bytes);
    auto device = connectDevice(simulator);
    flashing::DeviceClient& client = *device;
    auto info = client.identify();
    if (!info)
        qFatal("%s", qPrintable(info.error().toString()));
    flashing::FlashWriter writer(client, {kChunk, 4, 3});
    Clock::time_point transferred{};
    auto start = Clock::now();
    auto result = writer.write(image, info->maxChunk, [&](std::uint64_t done, std::uint64_t total) {
        if (done == total)
            transferred = Clock::now();
    });
    auto end = Clock::now();
    if (!result)
        qFatal("%s", qPrintable(result.error().toString()));
    return {Seconds(transferred - start).count(), Seconds(end - transferred).count()};
}

} // namespace

int main(int argc, char* argv[]) {
    QCoreApplication app(argc, argv);
    QTemporaryDir state(QStringLiteral("/tmp/kl-bench-XXXXXX"));
    BenchStation station;
    sim::SimOptions options;
    options.ports = 1;
    options.vendorKeystoreKeyPath = station.vendorKeyPem;
    options.stateDir = state.filePath(QStringLiteral("state"));
    options.socketDir = state.filePath(QStringLiteral("sock"));
    options.timing = sim::Timing::none();
    options.maxChunk = kChunk;
    sim::Simulator simulator(options);
    if (auto loaded = simulator.load(); !loaded)
        qFatal("%s", qPrintable(loaded.error().toString()));
    if (auto serving = simulator.startServing(); !serving)
        qFatal("%s", qPrintable(serving.error().toString()));

    station.prepare(simulator);
    QByteArray os(kImageMiB * 1024 * 1024, '\0');
    for (qsizetype i = 0; i < os.size(); ++i)
        os[i] = char((i * 2654435761u) >> 13);
    QByteArray image;

    double bestRaw = 1e9, bestTransfer = 1e9, bestCommit = 1e9, bestSha = 1e9;
    for (int round = 1; round <= kRepeats; ++round) {
        image = station.package(os); // a new image every round: nothing is "already installed"
        bestRaw = std::min(bestRaw, rawSocketCopy(image, state.path()));
        FlashTiming t = keylineFlash(simulator, image);
        bestTransfer = std::min(bestTransfer, t.transfer);
        bestCommit = std::min(bestCommit, t.commit);
        auto s = Clock::now();
        QByteArray digest = flashing::sha256(image);
        bestSha = std::min(bestSha, Seconds(Clock::now() - s).count());
        Q_UNUSED(digest);
    }
    simulator.stop();

    double mb = double(image.size()) / 1e6;
    double ratio = bestRaw / bestTransfer;
    std::printf("flash throughput, package with a %d MiB OS, %d KiB chunks, timing none, best "
                "of %d\n",
                kImageMiB, kChunk / 1024, kRepeats);
    std::printf("  %-44s %9.0f MB/s\n", "baseline: raw socket copy + pwrite", mb / bestRaw);
    std::printf("  %-44s %9.0f MB/s\n", "keyline: flash-begin .. last chunk acked",
                mb / bestTransfer);
    std::printf("  %-44s %9.2f   (goal >= 0.80) %s\n", "ratio keyline / raw", ratio,
                ratio >= 0.8 ? "MET" : "NOT MET");
    std::printf("  %-44s %9.1f ms (plain SHA-256 of the image: %.1f ms, ratio %.2f)\n",
                "device commit: secure-install check + install", bestCommit * 1e3, bestSha * 1e3,
                bestSha / bestCommit);
    summaryRow("flash throughput", mb / bestTransfer, "MB/s", "raw socket copy + pwrite",
               mb / bestRaw, ratio, ">= 0.80", ratio >= 0.8);
    return 0;
}
