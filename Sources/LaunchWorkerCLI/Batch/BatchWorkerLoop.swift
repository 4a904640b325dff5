import BatchJobs
import CLinux
import Foundation
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process's side of `batch --processes` (see ``BatchWorkerProcess``): answers each
/// chunk that arrives on descriptor 3 with this process's slots, as it arrives, and writes the
/// answers on descriptor 4; once descriptor 3 ends (the batch exited, or was killed), it exits,
/// with status 1 when what came cannot be read as a chunk.
enum BatchWorkerLoop {
    /// The option, hidden from `--help`, that makes `batch` a worker process: its index.
    static let indexOption = "--batch-worker-index"
    /// Where chunks arrive.
    static let requestDescriptor: Int32 = 3
    /// Where answers go.
    static let responseDescriptor: Int32 = 4

    /// Says the bundle is loaded, then answers chunks until the batch's pipe ends.
    static func serve(_ answering: SlotAnswering) async -> Never {
        // Not for the programs the bundle starts: the batch must see the pipe end when this ends.
        _ = fcntl(requestDescriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(responseDescriptor, F_SETFD, FD_CLOEXEC)
        // Ctrl-C reaches the whole process group: the batch drains, and this ends with its pipe.
        signal(SIGINT, SIG_IGN)
        let writing = Mutex(())
        let send = { @Sendable (frame: [UInt8]) in
            // A write that fails means the batch is gone: the read below sees the end.
            _ = writing.withLock { _ in FramePipe.write(frame, to: responseDescriptor) }
        }
        send(ChunkFrames.responses(.success([]), id: ChunkFrames.readyID))
        // Yields the size of a frame that could not be read, if one ended the reading.
        let ended = AsyncStream<Int>.makeStream()
        let reader = Thread {
            clinux_name_this_thread("batch-chunks")
            while let payload = FramePipe.read(requestDescriptor) {
                guard let (id, requests) = ChunkFrames.decodeRequests(payload) else {
                    ended.continuation.yield(payload.count)
                    break
                }
                Task {
                    let result: Result<[TaskResponse], BatchStop>
                    do throws(BatchStop) {
                        result = .success(try await answering.answer(requests))
                    } catch {
                        result = .failure(error)
                    }
                    send(ChunkFrames.responses(result, id: id))
                }
            }
            ended.continuation.finish()
        }
        reader.start()
        var unreadable: Int?
        for await size in ended.stream { unreadable = size }
        // Chunks still running have no one to answer: the batch runs them again when resumed.
        if let unreadable {
            let message = "error: batch worker process: a chunk of \(unreadable) bytes from the batch cannot be read\n"
            FileHandle.standardError.write(Data(message.utf8))
            _exit(1)
        }
        _exit(0)
    }
}
