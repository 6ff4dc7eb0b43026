#pragma once

// The outbox sync (docs/backend-api.md, "Station side"): delivers the registrations the engine
// wrote to the outbox in the same transaction as each certificate. A refused registration is
// marked failed with the back-end's reason (a person must look); anything else (back-end down,
// 5xx, timeouts, malformed answers) is retried with exponential back-off and jitter, the attempt
// count and the last error kept in the database.

#include "common/deadline.h"
#include "provisioning/record_writer.h"
#include "provisioning/registration_client.h"

#include <QStringList>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace keyline::provisioning {

struct SyncReport {
    int sent = 0;             // delivered now (201, or 200: it was there already)
    int failed = 0;           // refused for good now: marked failed with the reason
    int retrying = 0;         // tried and kept for a later attempt
    int pending = 0;          // pending in the outbox after this pass
    int failedTotal = 0;      // every entry marked failed, this pass or earlier
    bool unreachable = false; // the back-end was not reached: the pass stopped there
    QStringList problems;     // "dev-0001: <error>", one per entry not delivered
};

struct SyncOptions {
    Millis baseDelay{2000};    // first retry after about 2 s
    Millis maxDelay{600000};   // never more than 10 min
    Millis pollInterval{1000}; // how often the background thread looks for due entries
    int batch = 50;
};

// The delay before attempt `attempts + 1`: baseDelay × 2^attempts, capped at maxDelay, then
// scaled by `jitter` in [0.75, 1.25] and capped again. `jitter` < 0 draws one at random.
Millis retryDelay(int attempts, const SyncOptions& options, double jitter = -1);

class RegistrationSync {
public:
    RegistrationSync(RecordWriter& writer, RegistrationClient& client, SyncOptions options = {});
    ~RegistrationSync(); // stops the thread

    // Every pending entry once, whatever its back-off (`keyline registry sync`).
    Result<SyncReport> flushNow();
    // Only the entries whose next attempt is due.
    Result<SyncReport> syncDue();
    Result<int> pendingCount();
    Result<int> failedCount();

    // A background thread that syncs due entries every pollInterval (during `keyline run`).
    void start();
    // Stops it; with `finalPass`, syncs what is due once more (the last devices of a run).
    void stop(bool finalPass = false);

private:
    Result<SyncReport> deliver(bool all);
    void loop();

    RecordWriter& m_writer;
    RegistrationClient& m_client;
    SyncOptions m_options;
    std::mutex m_deliverMutex; // one pass at a time: never two sends of one entry
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::atomic<bool> m_stopping{false};
    std::thread m_thread;
};

} // namespace keyline::provisioning
