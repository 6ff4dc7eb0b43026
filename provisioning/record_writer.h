#pragma once

// The station's one database writer (docs/database.md, "writer discipline"): a thread that owns
// the connection (Qt SQL connections belong to the thread that opened them) and runs the
// slots' writes one after another. call() returns when the write is committed, so a slot
// starts its next step only after its last result is durable.

#include "db/database.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace keyline::provisioning {

class RecordWriter {
public:
    // Opens the database on the writer thread; the error is the open's.
    static Result<std::unique_ptr<RecordWriter>> start(const db::DatabaseOptions& options);
    ~RecordWriter();

    // Runs `work` on the writer thread and waits for its answer.
    template <typename T>
    Result<T> call(std::function<Result<T>(db::Database&)> work) {
        auto promise = std::make_shared<std::promise<Result<T>>>();
        auto answer = promise->get_future();
        post([work = std::move(work), promise](db::Database& db) { promise->set_value(work(db)); });
        return answer.get();
    }

private:
    RecordWriter() = default;
    void post(std::function<void(db::Database&)> task);
    void loop(db::DatabaseOptions options, std::promise<Result<void>> opened);

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::function<void(db::Database&)>> m_tasks;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace keyline::provisioning
