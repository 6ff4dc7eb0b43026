#pragma once

#include "common/deadline.h"
#include "common/result.h"

#include <QList>
#include <QString>
#include <functional>
#include <memory>
#include <span>

namespace keyline::flashing {

// One place a device can be plugged in: a USB port of the station or a simulator socket.
struct PortInfo {
    QString endpoint;    // stable name of the slot: "sim:port-03", "usb:1-4.2"
    QString kind;        // "sim" or "usb"
    QString description; // for people: socket path, USB IDs and product string
    QString address;     // what the provider needs to open it (socket path, bus/device numbers)

    bool operator==(const PortInfo& o) const { return endpoint == o.endpoint; }
};

// A byte pipe to one device. Implementations are used by one thread at a time.
class Transport {
public:
    virtual ~Transport() = default;
    Transport() = default;
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    virtual const PortInfo& port() const = 0;
    // Writes every byte or fails (Timeout, Disconnected, Io).
    virtual Result<void> write(const char* data, qsizetype size, Deadline deadline) = 0;
    // Writes several pieces as if they were one buffer. Transports that can hand them to the
    // system in one call (sendmsg) override it, so a frame's header, a flash chunk and the
    // check leave as one write and the device wakes once per frame, not three times.
    struct Piece {
        const char* data;
        qsizetype size;
    };
    virtual Result<void> writePieces(std::span<const Piece> pieces, Deadline deadline) {
        for (const Piece& p : pieces)
            KL_TRY(write(p.data, p.size, deadline));
        return success();
    }
    // Reads at least one and at most `max` bytes, waiting until the deadline.
    virtual Result<qsizetype> read(char* buffer, qsizetype max, Deadline deadline) = 0;
    // Drops the link; later calls fail with Disconnected.
    virtual void close() = 0;
};

enum class PortEventKind { Arrived, Removed };

struct PortEvent {
    PortEventKind kind;
    PortInfo port;
};

using PortEventHandler = std::function<void(const PortEvent&)>;

// Finds the ports of one transport kind, opens them and reports hotplug events.
class PortProvider {
public:
    virtual ~PortProvider() = default;
    PortProvider() = default;
    PortProvider(const PortProvider&) = delete;
    PortProvider& operator=(const PortProvider&) = delete;

    virtual QString kind() const = 0;
    // The ports that have a device right now.
    virtual Result<QList<PortInfo>> scan() = 0;
    virtual Result<std::unique_ptr<Transport>> open(const PortInfo& port) = 0;
    // Starts delivering arrival/removal events on a thread the provider owns; ports present
    // when watching starts are reported as arrivals. Stops at stopWatching() or destruction.
    virtual Result<void> watch(PortEventHandler handler) = 0;
    virtual void stopWatching() = 0;
};

} // namespace keyline::flashing
