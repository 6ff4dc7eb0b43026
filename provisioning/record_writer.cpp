#include "provisioning/record_writer.h"

namespace keyline::provisioning {

namespace {

// Enough to amortise one fsync over every slot of a full station, small enough that one
// group's transaction stays short.
constexpr std::size_t kMaxGroup = 64;

} // namespace

Result<std::unique_ptr<RecordWriter>> RecordWriter::start(const db::DatabaseOptions& options) {
    std::unique_ptr<RecordWriter> writer(new RecordWriter);
    std::promise<Result<void>> opened;
    auto answer = opened.get_future();
    writer->m_thread = std::thread([w = writer.get(), options, p = std::move(opened)]() mutable {
        w->loop(options, std::move(p));
    });
    Result<void> result = answer.get();
    if (!result)
        return result.error(); // the thread has ended; the destructor joins it
    return writer;
}

RecordWriter::~RecordWriter() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

RecordWriter::Stats RecordWriter::stats() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

void RecordWriter::post(Task task) {
    {
        std::lock_guard lock(m_mutex);
        m_tasks.push_back(std::move(task));
    }
    m_wake.notify_one();
}

void RecordWriter::runAlone(db::Database& db, Task& task) {
    // The work opens and commits its own transaction.
    task.run(db);
    {
        std::lock_guard lock(m_mutex);
        ++m_stats.commits;
        ++m_stats.writes;
    }
    task.done(std::nullopt);
}

void RecordWriter::runGroup(db::Database& db, std::vector<Task>& group) {
    auto outer = db.begin();
    if (!outer) {
        for (Task& t : group)
            t.done(outer.error());
        return;
    }
    bool allOk = true;
    for (Task& t : group)
        if (!t.run(db)) {
            allOk = false;
            break;
        }
    if (allOk) {
        // One commit makes every write of the group durable at once.
        auto committed = outer->commit();
        {
            std::lock_guard lock(m_mutex);
            ++m_stats.commits;
            m_stats.writes += group.size();
        }
        const std::optional<Error> failure =
            committed ? std::nullopt : std::optional<Error>(committed.error());
        for (Task& t : group)
            t.done(failure);
        return;
    }
    // A refusal (or an error) in one write: undo the group and give each write its own
    // transaction, so every write gets exactly its own answer.
    { [[maybe_unused]] auto rolledBack = std::move(*outer); }
    for (Task& t : group)
        runAlone(db, t);
}

void RecordWriter::loop(db::DatabaseOptions options, std::promise<Result<void>> opened) {
    auto database = db::Database::open(options);
    if (!database) {
        opened.set_value(database.error());
        return;
    }
    opened.set_value(success());
    std::unique_ptr<db::Database> db = std::move(*database);
    for (;;) {
        std::vector<Task> group;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
            if (m_tasks.empty())
                return; // stopping, nothing left: every posted task has been answered
            while (!m_tasks.empty() && group.size() < kMaxGroup) {
                group.push_back(std::move(m_tasks.front()));
                m_tasks.pop_front();
            }
        }
        if (group.size() == 1)
            runAlone(*db, group.front());
        else
            runGroup(*db, group);
    }
}

} // namespace keyline::provisioning
