// keyline-wearable-sim: virtual wearables on Unix sockets, for development, tests and
// benchmarks of the station. See docs/wearable-sim.md.
#include "flashing/socket_transport.h"
#include "sim/bootstrap_client.h"
#include "sim/simulator.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

using namespace keyline;
using namespace keyline::sim;

namespace {

constexpr const char* kDescription =
    R"HELP(Virtual Keyline wearables in factory mode, one per port, served on Unix sockets
(port-NN.sock in the socket directory) with the device protocol of docs/device-protocol.md.

Each device keeps its state in the state directory and survives a restart: chip UID and
identity key certified by a simulated silicon vendor (trust DIR/silicon-vendor-root.pem on
the station), write-once OTP, keystore, device key and certificates, flash, factory lock.

Keystores: a device stores a keystore only if it verifies against the vendor keystore signing
key given with --vendor-key (the station's export/keystore-signing.pub.pem). Without
--vendor-key every keystore-write is answered keystore-rejected ("no vendor key installed in
this device").

Faults (--fault PORT:KIND[=ARG], PORT a number or *, repeatable):
  disconnect-after-bytes=N  link drops after N bytes received (once per device)
  disconnect-at=COMMAND     link drops on receiving COMMAND, before it runs (once)
  corrupt-chunk=N           the N-th flash-chunk arrives damaged: answer bad-frame (once)
  brownout-at-commit        power lost during flash-commit: state Interrupted (once)
  counterfeit               chip certificate issued by a root that is not the vendor's
  otp-burned-other          OTP burned with another key at manufacture
  rng-repeat                device-key-generate returns the same key on all such devices
  garbage                   every request is answered with random bytes
  flood                     the first request's answer is sent again without end (sockets)

Examples:
  keyline-wearable-sim --ports 4 --state-dir ~/sim-devices
  keyline-wearable-sim --ports 2 --state-dir /tmp/s --timing none --fault 2:brownout-at-commit
Prints "port NN: device <uid> (factory|locked)" per port, then "ready". Stop with Ctrl-C.

A device in the field: keyline-wearable-sim bootstrap --state-dir D --registry URL --ca PEM
[--device ID] bootstraps the devices of D against the registry with their own key.)HELP";

struct Flags {
    QCommandLineOption ports{QStringLiteral("ports"), QStringLiteral("Number of ports (1 … 999)."),
                             QStringLiteral("N"), QStringLiteral("4")};
    QCommandLineOption stateDir{QStringLiteral("state-dir"),
                                QStringLiteral("Directory for device state (required)."),
                                QStringLiteral("DIR")};
    QCommandLineOption socketDir{QStringLiteral("socket-dir"),
                                 QStringLiteral("Directory for port-NN.sock (default %1).")
                                     .arg(flashing::defaultSimSocketDir()),
                                 QStringLiteral("DIR")};
    QCommandLineOption timing{QStringLiteral("timing"),
                              QStringLiteral("realistic (default) or none (no delays at all: "
                                             "tests, benchmarks)."),
                              QStringLiteral("MODE"), QStringLiteral("realistic")};
    QCommandLineOption usbRate{QStringLiteral("usb-rate"),
                               QStringLiteral("USB link rate in MB/s, both directions (35)."),
                               QStringLiteral("MBPS")};
    QCommandLineOption flashRate{QStringLiteral("flash-rate"),
                                 QStringLiteral("Flash programming rate in MB/s (4)."),
                                 QStringLiteral("MBPS")};
    QCommandLineOption otpBurn{QStringLiteral("otp-burn-ms"),
                               QStringLiteral("Time to burn the OTP key (120)."),
                               QStringLiteral("MS")};
    QCommandLineOption keygen{QStringLiteral("keygen-ms"),
                              QStringLiteral("Time to generate a P-256 key pair (250)."),
                              QStringLiteral("MS")};
    QCommandLineOption sign{QStringLiteral("sign-ms"),
                            QStringLiteral("Time for one ECDSA signature (30)."),
                            QStringLiteral("MS")};
    QCommandLineOption boot{QStringLiteral("boot-ms"),
                            QStringLiteral("Secure boot / reboot latency (400)."),
                            QStringLiteral("MS")};
    QCommandLineOption fault{QStringLiteral("fault"),
                             QStringLiteral("Inject a fault, PORT:KIND[=ARG] (see above)."),
                             QStringLiteral("SPEC")};
    QCommandLineOption devicesPerPort{
        QStringLiteral("devices-per-port"),
        QStringLiteral("Devices fed through each port: a locked device is replaced by a fresh one "
                       "when its connection closes, until M went through (1)."),
        QStringLiteral("M"), QStringLiteral("1")};
    QCommandLineOption maxChunk{QStringLiteral("max-chunk"),
                                QStringLiteral("Largest flash-chunk in bytes (262144)."),
                                QStringLiteral("BYTES")};
    QCommandLineOption vendorKey{
        QStringLiteral("vendor-key"),
        QStringLiteral("Vendor keystore signing public key (PEM) the devices verify keystores "
                       "against; without it keystore-write is always rejected."),
        QStringLiteral("PEM")};
    QCommandLineOption replug{QStringLiteral("replug-ms"),
                              QStringLiteral("How long a port stays empty during a swap (250)."),
                              QStringLiteral("MS")};
};

int usage(const QString& message) {
    fprintf(stderr, "keyline-wearable-sim: %s\nTry keyline-wearable-sim --help.\n",
            qPrintable(message));
    return 2;
}

// Reads a positive number option into `target`; false (with a message) if it is not one.
template <typename T, typename Convert>
bool readNumber(const QCommandLineParser& parser, const QCommandLineOption& option, T& target,
                Convert convert, QString& error) {
    if (!parser.isSet(option))
        return true;
    bool ok = false;
    const double value = parser.value(option).toDouble(&ok);
    if (!ok || value < 0) {
        error = QStringLiteral("--%1 needs a number ≥ 0, not \"%2\"")
                    .arg(option.names().constFirst(), parser.value(option));
        return false;
    }
    target = convert(value);
    return true;
}

Result<SimOptions> optionsFrom(const QCommandLineParser& parser, const Flags& f) {
    auto bad = [](const QString& why) {
        return Error(ErrorCode::InvalidArgument, why);
    };
    SimOptions o;
    bool ok = false;
    o.ports = parser.value(f.ports).toInt(&ok);
    if (!ok)
        return bad(QStringLiteral("--ports needs a number"));
    if (!parser.isSet(f.stateDir))
        return bad(QStringLiteral("--state-dir DIR is required: device state lives there"));
    o.stateDir = parser.value(f.stateDir);
    o.socketDir = parser.value(f.socketDir);
    o.vendorKeystoreKeyPath = parser.value(f.vendorKey);
    o.devicesPerPort = parser.value(f.devicesPerPort).toInt(&ok);
    if (!ok)
        return bad(QStringLiteral("--devices-per-port needs a number"));
    const QString mode = parser.value(f.timing);
    if (mode == QLatin1String("none"))
        o.timing = Timing::none();
    else if (mode != QLatin1String("realistic"))
        return bad(QStringLiteral("--timing is realistic or none, not \"%1\"").arg(mode));
    QString error;
    auto ms = [](double v) {
        return std::chrono::milliseconds(static_cast<long long>(v));
    };
    auto mbps = [](double v) {
        return v * 1e6;
    };
    auto integer = [](double v) {
        return static_cast<int>(v);
    };
    if (!readNumber(parser, f.usbRate, o.timing.usbBytesPerSecond, mbps, error) ||
        !readNumber(parser, f.flashRate, o.timing.flashBytesPerSecond, mbps, error) ||
        !readNumber(parser, f.otpBurn, o.timing.otpBurn, ms, error) ||
        !readNumber(parser, f.keygen, o.timing.keyGeneration, ms, error) ||
        !readNumber(parser, f.sign, o.timing.signature, ms, error) ||
        !readNumber(parser, f.boot, o.timing.boot, ms, error) ||
        !readNumber(parser, f.maxChunk, o.maxChunk, integer, error) ||
        !readNumber(parser, f.replug, o.replugDelay, ms, error))
        return bad(error);
    const QStringList faults = parser.values(f.fault);
    for (const QString& text : faults) {
        KL_TRY_ASSIGN(FaultSpec spec, parseFaultSpec(text));
        o.faults.append(spec);
    }
    return o;
}

void printLine(const QString& line) {
    fprintf(stdout, "%s\n", qPrintable(line));
    fflush(stdout);
}

} // namespace

int main(int argc, char* argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("keyline-wearable-sim"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KEYLINE_VERSION));
    // A device in the field: bootstrap against the registry (sim/bootstrap_client.h).
    if (argc > 1 && qstrcmp(argv[1], "bootstrap") == 0)
        return runBootstrapCommand(QCoreApplication::arguments().mid(2));

    QCommandLineParser parser;
    parser.setApplicationDescription(QString::fromUtf8(kDescription));
    parser.addHelpOption();
    parser.addVersionOption();
    Flags flags;
    parser.addOptions({flags.ports, flags.stateDir, flags.socketDir, flags.timing, flags.usbRate,
                       flags.flashRate, flags.otpBurn, flags.keygen, flags.sign, flags.boot,
                       flags.fault, flags.devicesPerPort, flags.maxChunk, flags.replug,
                       flags.vendorKey});
    if (!parser.parse(QCoreApplication::arguments()))
        return usage(parser.errorText());
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty())
        return usage(QStringLiteral("unexpected argument \"%1\"")
                         .arg(parser.positionalArguments().constFirst()));
    auto options = optionsFrom(parser, flags);
    if (!options)
        return usage(options.error().message());

    // Signals go to one waiting thread that stops the simulator; the others never see them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Simulator simulator(*options);
    if (auto loaded = simulator.load(); !loaded) {
        fprintf(stderr, "keyline-wearable-sim: %s\n", qPrintable(loaded.error().toString()));
        return exitCodeFor(loaded.error().code());
    }
    for (int port = 1; port <= options->ports; ++port)
        if (auto summary = simulator.portSummary(port))
            printLine(
                QStringLiteral("port %1: device %2 (%3)")
                    .arg(port, 2, 10, QLatin1Char('0'))
                    .arg(QString::fromLatin1(summary->chipUid.toHex()),
                         summary->locked ? QStringLiteral("locked") : QStringLiteral("factory")));
    simulator.setLogger(printLine);
    if (auto serving = simulator.startServing(); !serving) {
        fprintf(stderr, "keyline-wearable-sim: %s\n", qPrintable(serving.error().toString()));
        return exitCodeFor(serving.error().code());
    }
    fprintf(stderr, "keyline-wearable-sim: sockets in %s, vendor root %s\n",
            qPrintable(simulator.options().socketDir), qPrintable(simulator.vendorRootPath()));
    if (simulator.options().vendorKeystoreKeyPath.isEmpty())
        fprintf(stderr, "keyline-wearable-sim: no --vendor-key: every keystore-write will be "
                        "rejected\n");
    else
        fprintf(stderr, "keyline-wearable-sim: keystores verified against %s\n",
                qPrintable(simulator.options().vendorKeystoreKeyPath));
    printLine(QStringLiteral("ready"));

    std::thread signalWaiter([&simulator, signals] {
        int received = 0;
        sigwait(&signals, &received);
        simulator.stop();
    });
    auto served = simulator.serveSockets();              // returns after stop()
    pthread_kill(signalWaiter.native_handle(), SIGTERM); // wake the waiter if no signal came
    signalWaiter.join();
    if (!served) {
        fprintf(stderr, "keyline-wearable-sim: %s\n", qPrintable(served.error().toString()));
        return exitCodeFor(served.error().code());
    }
    printLine(QStringLiteral("stopped"));
    return 0;
}
