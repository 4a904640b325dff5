import Logging

/// SIGHUP: a rolling restart. Each place's process is replaced in turn, as recycling replaces
/// one (its replacement, loading the bundle anew with the supervisor's environment, ready
/// first, then the old one drained), and the next place only once the last swap is done, so at
/// most one extra process runs and no request is refused on the way.
extension PoolLoop {
    /// Starts a rolling restart for a new SIGHUP, and moves the one under way along.
    func advanceRollingRestart() {
        let reloads = control.reloads
        if reloads != rolling.reloads {
            logger.notice("SIGHUP: replacing every worker process, one at a time")
            rolling = (Array(places.indices), places.map(\.generation), false, reloads)
            for index in places.indices { places[index].restartRequested = false }
        }
        guard let index = rolling.places.first else { return }
        let place = places[index]
        if rolling.begun {
            // Done once the replacement took the place (or the process died meanwhile: its
            // restart loads the bundle anew all the same).
            guard !place.restartRequested else { return }
        } else if !place.finished, place.process != nil, place.generation <= rolling.generations[index] {
            // A process started before the SIGHUP: once it is ready (not while it loads, or a
            // recycling replacement is on its way), it is replaced.
            guard place.readySince != nil, place.successor == nil else { return }
            places[index].restartRequested = true
            rolling.begun = true
            return
        }
        // Replaced, started since the SIGHUP, waiting for a restart (which will be fresh), or
        // done: on to the next place.
        rolling.places.removeFirst()
        rolling.begun = false
        if rolling.places.isEmpty { logger.notice("the rolling restart is done") }
    }
}
