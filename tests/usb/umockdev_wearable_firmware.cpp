// ---- the "firmware" (one thread per device) ----------------------------------------------------
//
// Runs the device's sim::PortSession off umockdev's worker thread so a slow device does not stall
// every other emulated device.

#include "umockdev_wearable_internal.h"

namespace keyline::usbtest {

using namespace detail;

void UmockdevWearable::Device::stopFirmware() {
    {
        std::lock_guard lock(mutex);
        stopping = true;
    }
    wake.notify_all();
    std::lock_guard lock(joinMutex);
    if (firmware.joinable())
        firmware.join();
}

void UmockdevWearable::Device::queue(Job job) {
    jobs.push_back(std::move(job));
    wake.notify_all();
}

void UmockdevWearable::Device::requestDrop() {
    if (gone || dropScheduled)
        return;
    dropScheduled = true;
    Impl* impl = owner;
    impl->schedule(std::chrono::milliseconds(0), [impl, weak = self] {
        if (auto d = weak.lock())
            impl->remove(d, true);
    });
}

void UmockdevWearable::Device::firmwareLoop() {
    std::unique_ptr<sim::PortSession> session;
    std::uint64_t sessionGeneration = 0;
    std::unique_lock lock(mutex);
    for (;;) {
        wake.wait(lock, [this] { return stopping || !jobs.empty(); });
        if (jobs.empty())
            break; // stopping, and nothing left to do
        Job job = std::move(jobs.front());
        jobs.pop_front();
        lock.unlock();
        sim::PortSession::Output output;
        bool fed = false;
        switch (job.kind) {
        case Job::Open:
            session = owner->factory ? owner->factory(port) : nullptr;
            sessionGeneration = job.generation;
            {
                std::lock_guard implLock(owner->mutex);
                ++owner->sessions[port];
            }
            break;
        case Job::Close:
            session.reset();
            // Closing may have emptied the port (a locked device swapped for a fresh one).
            if (owner->occupied && !owner->occupied(port)) {
                Impl* impl = owner;
                impl->schedule(std::chrono::milliseconds(0), [impl, weak = self] {
                    if (auto d = weak.lock())
                        impl->remove(d, true);
                });
            }
            break;
        case Job::Feed:
            if (session && job.generation == sessionGeneration) {
                output = session->feed(job.bytes.constData(), job.bytes.size());
                fed = true;
            }
            break;
        }
        lock.lock();
        if (!fed || job.generation != generation || gone)
            continue;
        inQueue.append(output.bytes);
        serveIn();
        if (output.disconnect && !dropRequested) {
            dropRequested = true;
            jobs.clear(); // the device stops listening; later bytes are lost, as on a reset
            if (!answerPending())
                requestDrop();
            // Otherwise reap() drops the link once the last answer is fetched; the limit covers
            // a host that never reads it.
            Impl* impl = owner;
            impl->schedule(kDrainLimit, [impl, weak = self] {
                if (auto d = weak.lock())
                    impl->remove(d, true);
            });
        }
    }
    lock.unlock();
    session.reset();
}

} // namespace keyline::usbtest
