// Gang scaling with realistic device timing: units per hour at 1, 2, 4, 8 and 16 slots, each as
// a ratio to the ideal, which the devices' own timing fixes: every slot busy all the time with
// device work (OTP burn, key generation, signatures, USB transfer, flash programming, boot) and
// the swap between two devices, and the station taking no time at all. The baseline is
// measured, not assumed: the simulator sums the time it charged every device in the same run.
//
// The station's share of wall time is 1 - ideal / actual: what the devices wait for the station
// (its crypto, HSM calls, durable commits, hot-plug detection, scheduling), summed over the
// slots. Goals on the 2-core machine: share <= 2 % and ratio >= 0.95 at 16 slots.
//
// Usage: bench_line_scaling [devices per slot=3] [largest slot count=16]

#include "bench_line.h"

#include <QCoreApplication>
#include <QFile>
#include <cstdio>

using namespace keyline;
using namespace keyline::bench;

namespace {

// The process's peak resident memory, in MiB (VmHWM): the station and the simulator together.
double peakResidentMiB() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toDouble() / 1024.0;
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const int perSlot = argc > 1 ? std::atoi(argv[1]) : 3;
    const int largest = argc > 2 ? std::atoi(argv[2]) : 16;
    if (perSlot < 1 || largest < 1)
        die(QStringLiteral(
            "usage: bench_line_scaling [devices per slot >= 1] [largest slot count >= 1]"));
    BenchStation station;
    QTemporaryDir work(QStringLiteral("/tmp/kl-line-XXXXXX"));
    const auto swap = std::chrono::milliseconds(20);
    // The size of the package built from the bundled firmware tree (firmware_image/tree).
    const qsizetype osBytes = 4 * 1024 * 1024;

    std::printf("line scaling, realistic device timing, %d devices per slot, %lld KiB OS, "
                "%lld ms device swap, durable commits\n",
                perSlot, static_cast<long long>(osBytes / 1024),
                static_cast<long long>(swap.count()));
    std::printf("  %5s %7s %9s %10s %12s %7s %13s\n", "slots", "devices", "wall s", "units/h",
                "ideal units/h", "ratio", "station share");
    bool ok = true;
    double ratioAtLargest = 0, shareAtLargest = 1, workPerUnit = 0;
    double uphAtLargest = 0, idealAtLargest = 0;
    for (int slots = 1; slots <= largest; slots *= 2) {
        const int devices = perSlot * slots;
        const LineRun line =
            runLine(station, work.path(), sim::Timing::realistic(), devices, slots, osBytes, swap);
        if (line.summary.failed != 0 || line.summary.passed != devices) {
            std::printf("  %d slots: %d passed, %d failed: the run is not clean\n", slots,
                        line.summary.passed, line.summary.failed);
            ok = false;
            continue;
        }
        const double wall = double(line.summary.milliseconds) / 1000.0;
        // Per slot: its devices' work and the swaps between them, back to back.
        const double perDevice = double(line.deviceWork.count()) / 1e6 / devices;
        const double ideal = perSlot * perDevice + (perSlot - 1) * (double(swap.count()) / 1000.0);
        const double idealUph = devices * 3600.0 / ideal;
        const double uph = devices * 3600.0 / wall;
        const double ratio = uph / idealUph;
        const double share = 1.0 - ideal / wall;
        std::printf("  %5d %7d %9.2f %10.0f %12.0f %7.3f %12.2f %%\n", slots, devices, wall, uph,
                    idealUph, ratio, share * 100.0);
        ratioAtLargest = ratio;
        workPerUnit = perDevice;
        uphAtLargest = uph;
        idealAtLargest = idealUph;
        shareAtLargest = share;
    }
    std::printf("  baseline: device work per unit, charged by the simulator's timing: %.0f ms\n",
                workPerUnit * 1000.0);
    std::printf("  peak resident memory, station and simulator, up to %d slots busy: %.0f MiB\n",
                largest, peakResidentMiB());
    summaryRow("line, realistic timing, 16 slots", uphAtLargest, "units/h",
               "ideal from device timing", idealAtLargest, ratioAtLargest, ">= 0.95",
               ratioAtLargest >= 0.95);
    summaryRow("station share of wall time, 16 slots", shareAtLargest * 100.0, "%", "", 0, 0,
               "<= 2 %", shareAtLargest <= 0.02);
    summaryRow("peak memory, 16 slots busy", peakResidentMiB(), "MiB", "", 0, 0, "report", true);
    std::printf("  goal ratio >= 0.95 at %d slots: %s\n", largest,
                ratioAtLargest >= 0.95 ? "MET" : "NOT MET");
    std::printf("  goal station share <= 2 %% at %d slots: %s\n", largest,
                shareAtLargest <= 0.02 ? "MET" : "NOT MET");
    return ok ? 0 : 1;
}
