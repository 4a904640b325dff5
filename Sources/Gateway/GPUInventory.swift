import Synchronization

/// The host's GPUs and which worker holds which: each worker of an endpoint with `gpus > 0`
/// takes that many devices of its own, passed to it as `serve --gpus N --devices LIST` (its
/// `CUDA_VISIBLE_DEVICES`), and gives them back once it has stopped.
final class GPUInventory: Sendable {
    private struct State {
        var free: [String]
        var total: Int
    }

    private let state: Mutex<State>

    /// An inventory of `devices` (their indices, as `nvidia-smi -L` lists them).
    init(devices: [String]) {
        state = Mutex(State(free: devices, total: devices.count))
    }

    /// `count` free devices, taken; nil (nothing taken) when fewer are free.
    func take(_ count: Int) -> [String]? {
        state.withLock { state in
            guard state.free.count >= count else { return nil }
            let taken = Array(state.free.prefix(count))
            state.free.removeFirst(count)
            return taken
        }
    }

    /// Gives devices back.
    func give(_ devices: [String]) {
        guard !devices.isEmpty else { return }
        state.withLock { state in
            state.free.append(contentsOf: devices)
            state.free.sort { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        }
    }

    /// How many devices are free, and how many the host has.
    var counts: (free: Int, total: Int) {
        state.withLock { ($0.free.count, $0.total) }
    }
}
