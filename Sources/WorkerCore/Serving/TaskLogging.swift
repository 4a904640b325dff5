import Logging

extension Logger {
    /// This logger with the task's id as `task_id` metadata. Made where a task's message is
    /// logged, not for every task: setting metadata has `StreamLogHandler` format all of it
    /// again, which cost a trivial predict a tenth of its time on its slot's thread.
    public func forTask(_ id: String) -> Logger {
        var logger = self
        logger[metadataKey: "task_id"] = "\(id)"
        return logger
    }
}
