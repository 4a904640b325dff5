import CLinux
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Has the kernel kill this process (SIGKILL) once the thread of the parent that started it
/// ends: a supervised child (`run`'s, a pool's worker) never outlives its supervisor, even one
/// killed with SIGKILL.
///
/// The kernel keeps that request (`prctl(PR_SET_PDEATHSIG)`) per thread, and forgets it when the
/// thread that made it ends. Swift's pool ends threads that sit idle, which let a child whose
/// request was made there outlive its killed parent once it had run a few seconds. So the
/// request is made on a thread of its own that lives as long as the process, with every signal
/// blocked so that none is delivered to it.
enum ParentDeathSignal {
    /// Makes the request, returning once it is made.
    static func arm() {
        let armed = DispatchSemaphore(value: 0)
        let thread = Thread {
            clinux_name_this_thread("parent-death")
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            _ = clinux_set_parent_death_signal(SIGKILL)
            armed.signal()
            while true { sleep(UInt32.max) }
        }
        thread.start()
        armed.wait()
    }
}
