#pragma once

// CONTRACT (written before the implementation; the sim owner may extend, not break it).
// The USB test harness and the protocol test suite depend on exactly these names.

#include "common/result.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <chrono>
#include <memory>

namespace keyline::sim {

// Device-side delays. Realistic() is the default of keyline-wearable-sim; none() is for tests
// and benchmarks. Every figure is configurable and documented in docs/wearable-sim.md.
struct Timing {
    double usbBytesPerSecond = 35e6;    // USB 2.0 high-speed bulk, as measured on real hubs
    double flashBytesPerSecond = 4e6;   // NOR/eMMC programming rate
    std::chrono::milliseconds otpBurn{120};
    std::chrono::milliseconds keyGeneration{250};
    std::chrono::milliseconds signature{30};
    std::chrono::milliseconds boot{400};
    bool enabled = true;

    static Timing realistic();
    static Timing none();
};

enum class FaultKind {
    DisconnectAfterBytes, // argument: N bytes received on the port, then the link drops (once)
    DisconnectAt,         // argument: command name; the link drops on receiving it (once)
    CorruptChunk,         // argument: N; the N-th flash chunk is damaged in transit (once)
    BrownoutAtCommit,     // power lost in the middle of flash-commit (once)
    Counterfeit,          // chip identity certified by a root that is not the vendor's
    OtpBurnedOther,       // OTP already burned with another key at manufacture
    RngRepeat,            // device key generation returns the same key on every such device
    Garbage,              // answers every request with random bytes
};

struct FaultSpec {
    int port = 0; // 0: every port
    FaultKind kind;
    QString argument;
};
// Parses "PORT:KIND[=ARG]", PORT a number or "*", e.g. "3:disconnect-at=flash-commit".
Result<FaultSpec> parseFaultSpec(const QString& text);

struct SimOptions {
    int ports = 4;
    QString stateDir;  // required: device state survives restarts here
    QString socketDir; // empty: keyline::flashing::defaultSimSocketDir()
    Timing timing = Timing::realistic();
    QList<FaultSpec> faults;
    // Devices fed into each port over the run: when a locked device's connection closes, the
    // next fresh device is "plugged in". 1 = one device per port, never replaced.
    int devicesPerPort = 1;
};

// One connection's byte stream to the device currently in a port. Transport-agnostic: the
// socket server and the umockdev USB harness both push received bytes in and send out what
// comes back.
class PortSession {
public:
    virtual ~PortSession() = default;
    struct Output {
        QByteArray bytes;        // to send to the station, in order
        bool disconnect = false; // the link drops after sending `bytes` (fault or reset)
    };
    virtual Output feed(const char* data, qsizetype size) = 0;
};

class Simulator {
public:
    explicit Simulator(SimOptions options);
    ~Simulator();

    // Creates or reloads the state directory: vendor CA, devices, port assignments.
    Result<void> load();
    const SimOptions& options() const;
    // PEM of the simulated silicon vendor root; the station's trust config points at it.
    QString vendorRootPath() const;

    bool occupied(int port) const;
    // A session with the device in `port` (1-based), or nullptr if the port is empty.
    std::unique_ptr<PortSession> openSession(int port);

    // Serves each occupied port on a Unix socket "port-NN.sock" in the socket directory,
    // removing the file while the port is empty; runs until stop().
    Result<void> serveSockets();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace keyline::sim
