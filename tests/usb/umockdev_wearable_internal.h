#pragma once

// Internals of UmockdevWearable, shared by its source files only (tests include
// umockdev_wearable.h):
//   umockdev_wearable.cpp              the public face
//   umockdev_wearable_descriptors.cpp  the USB descriptors of the emulated devices
//   umockdev_wearable_ioctl.cpp        usbdevfs ioctl handling (umockdev's worker thread)
//   umockdev_wearable_firmware.cpp     the per-device "firmware" thread running the session
//   umockdev_wearable_plug.cpp         plugging, unplugging and the scheduler of deferred work

#include "umockdev_wearable.h"

#include <QByteArray>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <umockdev.h>
#include <vector>

namespace keyline::usbtest {
namespace detail {

using SteadyClock = std::chrono::steady_clock;

inline constexpr std::uint8_t kOutEndpoint = 0x01;
inline constexpr std::uint8_t kInEndpoint = 0x81;
inline constexpr auto kReplugDelay = std::chrono::milliseconds(50);
// A device that asked to drop the link waits this long for the host to fetch its last answer.
inline constexpr auto kDrainLimit = std::chrono::milliseconds(1000);

inline constexpr char kRootHubPath[] = "/sys/devices/pci0000:00/0000:00:14.0/usb1";

// ---- descriptors (umockdev_wearable_descriptors.cpp) ----

QByteArray hex(const std::vector<std::uint8_t>& bytes);
// The wearable's device and configuration descriptors, as in the sysfs "descriptors" attribute.
std::vector<std::uint8_t> wearableDescriptors(const EmulatedDeviceSpec& s);
// The root hub's, likewise.
std::vector<std::uint8_t> rootHubDescriptors();

// ---- ioctl handling (umockdev_wearable_ioctl.cpp) ----

// The "handle-ioctl" handler of every device; `device` is its UmockdevWearable::Device.
gboolean onIoctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer device);

} // namespace detail

// One URB as the emulated device sees it. `address` is the URB in the client (libusb), which
// lives in this process: umockdev resolves it into local copies and writes them back.
struct Urb {
    UMockdevIoctlClient* owner = nullptr; // the open file that submitted it; only it may reap
    gulong address = 0;
    std::uint8_t endpoint = 0;
    int bufferLength = 0;
    int status = 0;
    int actualLength = 0;
    QByteArray data; // bulk IN payload, copied out at reap time
};

struct UmockdevWearable::Device {
    struct Job {
        enum Kind { Open, Feed, Close } kind;
        std::uint64_t generation;
        QByteArray bytes;
    };

    Impl* owner = nullptr;
    int port = 0;
    int devnum = 0;
    EmulatedDeviceSpec spec;
    std::string syspath;
    std::string devnode;
    UMockdevIoctlBase* handler = nullptr;
    gulong signal = 0;

    // Shared with umockdev's ioctl worker thread and the firmware thread.
    std::mutex mutex;
    std::weak_ptr<Device> self;
    bool gone = false;
    bool dropRequested = false;
    bool dropScheduled = false;
    UMockdevIoctlClient* claimedBy = nullptr;
    std::uint64_t generation = 0; // one per session; output of an older session is dropped
    QByteArray inQueue;           // device -> host bytes not yet in a URB
    std::deque<Urb> waiting;      // bulk IN URBs waiting for data
    std::deque<Urb> done;         // URBs ready to reap, in completion order

    // The "firmware": runs the session off umockdev's worker thread so a slow device does not
    // stall every other emulated device.
    std::thread firmware;
    std::mutex joinMutex;
    std::condition_variable wake;
    std::deque<Job> jobs;
    bool stopping = false;

    gboolean handle(UMockdevIoctlClient* client);
    void submit(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void reap(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void discard(UMockdevIoctlClient* client, UMockdevIoctlData* arg);
    void serveIn();      // with mutex held
    void queue(Job job); // with mutex held
    void firmwareLoop();
    void requestDrop();         // with mutex held
    bool answerPending() const; // with mutex held: device output the host has not reaped
    void stopFirmware();        // finishes queued jobs (closing the session) and joins
};

struct UmockdevWearable::Impl {
    SessionFactory factory;
    PresenceProbe occupied;
    UMockdevTestbed* testbed = nullptr;
    std::mutex testbedMutex; // the testbed object is not thread-safe

    mutable std::mutex mutex;
    std::map<int, std::shared_ptr<Device>> plugged;
    std::vector<std::shared_ptr<Device>> all; // kept until the end: open files may still ask
    std::map<int, EmulatedDeviceSpec> specs;
    std::map<int, int> sessions;
    std::map<int, int> removals;
    int nextDevnum = 2;
    bool replug = true;
    std::atomic<int> discarded{0};

    // Deferred work (drop after drain, re-plug) runs here, never on umockdev's worker thread.
    std::thread scheduler;
    std::condition_variable schedulerWake;
    std::multimap<detail::SteadyClock::time_point, std::function<void()>> tasks;
    bool schedulerStop = false;
    bool paused = false;    // after unplugAll(): no automatic re-plugging until plug()
    std::mutex taskRunning; // held while a task runs

    void schedule(detail::SteadyClock::duration delay, std::function<void()> task);
    void schedulerLoop();
    void addRootHub();
    std::shared_ptr<Device> plug(int port, const EmulatedDeviceSpec& spec);
    void remove(const std::shared_ptr<Device>& device, bool droppedByDevice);
    void replugWhenOccupied(int port, EmulatedDeviceSpec spec, detail::SteadyClock::duration delay);
};

} // namespace keyline::usbtest
