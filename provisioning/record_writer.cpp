#include "provisioning/record_writer.h"

namespace keyline::provisioning {

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

void RecordWriter::post(std::function<void(db::Database&)> task) {
    {
        std::lock_guard lock(m_mutex);
        m_tasks.push_back(std::move(task));
    }
    m_wake.notify_one();
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
        std::function<void(db::Database&)> task;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
            if (m_tasks.empty())
                return; // stopping, nothing left: every posted task has been answered
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
        }
        task(*db);
    }
}

} // namespace keyline::provisioning
