#pragma once

#include "common/result.h"

#include <QString>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace keyline::sim {

class Simulator;

// Serves every port of a Simulator on a Unix stream socket "port-NN.sock": one thread per
// port, one connection at a time per port. The socket file exists only while a device is in
// the port; it appears by rename once the socket listens, so a station that sees the file
// can connect at once.
class SocketServer {
public:
    SocketServer(Simulator& simulator, QString directory, std::function<void(const QString&)> log);
    ~SocketServer();
    SocketServer(const SocketServer&) = delete;
    SocketServer& operator=(const SocketServer&) = delete;

    // Listens on every occupied port, then serves them on their own threads.
    Result<void> start();
    // Asks every thread to finish; safe from any thread.
    void stop();
    // Waits for the threads; removes the socket files they served.
    void join();

private:
    Result<int> listenOn(int port);
    void runPort(int port, int listenFd);
    void serveConnection(int port, int fd);
    bool writeAll(int fd, const char* data, qsizetype size);
    // Sleeps up to `ms` or until stop(); true when stopping.
    bool waitForStop(int ms);
    void closePort(int port, int& listenFd);
    void log(const QString& line) const;

    Simulator& m_simulator;
    QString m_directory;
    std::function<void(const QString&)> m_log;
    int m_wakeFd = -1;
    std::atomic<bool> m_stopping{false};
    std::vector<std::thread> m_threads;
};

} // namespace keyline::sim
