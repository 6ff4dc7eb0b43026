#pragma once

// The station's one database writer (docs/database.md, "writer discipline"): a thread that owns
// the connection (Qt SQL connections belong to the thread that opened them) and runs the
// slots' writes. call() returns when the write is committed, so a slot starts its next step
// only after its last result is durable.
//
// Group commit: writes that arrive while one commit is under way are run together in one
// transaction and made durable by one commit (one fsync), so 16 slots do not queue for 16
// fsyncs. A write that fails inside a group rolls the group back; each of its writes is then
// run again on its own, so one device's refusal never undoes or fails another device's step.

#include "db/database.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace keyline::provisioning {

class RecordWriter {
public:
    // Opens the database on the writer thread; the error is the open's.
    static Result<std::unique_ptr<RecordWriter>> start(const db::DatabaseOptions& options);
    ~RecordWriter();

    // Runs `work` on the writer thread and waits until it is committed. `work` may run more
    // than once (again on its own after its group rolled back): it must only touch the
    // database.
    template <typename T>
    Result<T> call(std::function<Result<T>(db::Database&)> work) {
        auto state = std::make_shared<CallState<T>>();
        auto answer = state->promise.get_future();
        post(Task{[work = std::move(work), state](db::Database& db) {
                      state->result.emplace(work(db));
                      return state->result->ok();
                  },
                  [state](const std::optional<Error>& commitFailure) {
                      Result<T> r = std::move(*state->result);
                      if (commitFailure && r.ok())
                          r = Result<T>(*commitFailure);
                      state->promise.set_value(std::move(r));
                  }});
        return answer.get();
    }

    // How many commits carried how many writes, for benchmarks and metrics.
    struct Stats {
        quint64 commits = 0;
        quint64 writes = 0;
    };
    Stats stats() const;

private:
    template <typename T>
    struct CallState {
        std::promise<Result<T>> promise;
        std::optional<Result<T>> result;
    };
    struct Task {
        std::function<bool(db::Database&)> run;                // true: the work succeeded
        std::function<void(const std::optional<Error>&)> done; // after the commit (or not)
    };

    RecordWriter() = default;
    void post(Task task);
    void loop(db::DatabaseOptions options, std::promise<Result<void>> opened);
    void runAlone(db::Database& db, Task& task);
    void runGroup(db::Database& db, std::vector<Task>& group);

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Task> m_tasks;
    bool m_stopping = false;
    Stats m_stats;
    std::thread m_thread;
};

} // namespace keyline::provisioning
