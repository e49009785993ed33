using System.Diagnostics;

namespace Job.Clock;

/// <summary>
/// A <see cref="TimeProvider"/> whose time is controlled by a <see cref="ClockController"/>
/// (manual) or runs at a multiple of real time (auto), so that everything built on
/// <see cref="TimeProvider"/> — <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>,
/// <see cref="CancellationTokenSource(TimeSpan, TimeProvider)"/>, <see cref="PeriodicTimer"/> — obeys it.
/// Timers wait in a wake list ordered by due time (ties in creation order); the controller
/// fires them in that order while moving the clock to each wake point, like the crate's
/// artificial clock.
/// </summary>
internal sealed class ArtificialTimeProvider : TimeProvider
{
    /// <summary>Longest real wait of the auto-mode pump, so that rounding can never strand a wake for weeks.</summary>
    private static readonly TimeSpan MaxPumpDelay = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly SortedSet<ArtificialTimer> _wakes = new(WakeOrder.Instance);
    private readonly double _timeScale;
    private readonly ITimer? _pump;

    private DateTimeOffset _baseTime;
    private long _baseRealTimestamp;
    private long _nextSequence;
    private bool _dispatchQueued;

    public ArtificialTimeProvider(ArtificialClockConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Mode = config.Mode;
        _timeScale = config.TimeScale;
        _baseTime = config.StartAt;
        _baseRealTimestamp = Stopwatch.GetTimestamp();

        if (Mode == ArtificialClockMode.AutoAdvance)
        {
            // The pump is a real timer; it must not capture whoever created the clock.
            using (ExecutionContext.SuppressFlow())
            {
                _pump = System.CreateTimer(
                    static self => ((ArtificialTimeProvider)self!).FireDueNow(),
                    this,
                    Timeout.InfiniteTimeSpan,
                    Timeout.InfiniteTimeSpan);
            }
        }
    }

    public ArtificialClockMode Mode { get; }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return NowLocked();
        }
    }

    /// <summary>Timestamps are the artificial time in ticks, so elapsed-time measurements agree with <see cref="GetUtcNow"/>.</summary>
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ArtificialTimer(this, callback, state, ExecutionContext.Capture());
        timer.Change(dueTime, period);
        return timer;
    }

    public int PendingWakeCount
    {
        get
        {
            lock (_gate)
            {
                return _wakes.Count;
            }
        }
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="by"/>, stopping at every wake point on the way
    /// (including wakes created by the continuations it runs), firing it and letting the woken
    /// code run (it may sleep again) before the clock moves on.
    /// </summary>
    public async Task<int> AdvanceAsync(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);

        DateTimeOffset target;
        lock (_gate)
        {
            target = TimeArithmetic.SaturatingAdd(NowLocked(), by);
        }

        var processed = 0;
        while (TryPopNextWake(target, out var timer))
        {
            timer.Fire();
            processed++;
            await SettleAsync().ConfigureAwait(false);
        }

        lock (_gate)
        {
            if (NowLocked() < target)
            {
                SetTimeLocked(target);
            }

            ScheduleDispatchLocked();
        }

        return processed;
    }

    // Woken code usually continues on other threads and registers its next sleep a moment later;
    // one yield is not enough on a busy machine. Give it real time until nothing new is scheduled
    // and the thread pool has no queued work (bounded, so a busy pool cannot stall an advance).
    private async Task SettleAsync()
    {
        await Task.Yield();
        for (var i = 0; i < 50; i++)
        {
            long before;
            lock (_gate)
            {
                before = _nextSequence;
            }

            await Task.Delay(1).ConfigureAwait(false);
            long after;
            lock (_gate)
            {
                after = _nextSequence;
            }

            if (after == before && ThreadPool.PendingWorkItemCount == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Completes when this clock reaches <paramref name="due"/>. The wake is registered at that instant,
    /// under the lock the advances take: a relative delay worked out from a reading of the clock lands
    /// late when the clock moves between the reading and the timer's creation, and its waiter then
    /// sleeps past a time the controller already reached, until the next advance.
    /// </summary>
    internal async Task DelayUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var timer = new ArtificialTimer(this, static s => ((TaskCompletionSource)s!).TrySetResult(), woken, context: null);
        lock (_gate)
        {
            if (due <= NowLocked())
            {
                return;
            }

            EnqueueLocked(timer, due);
            ScheduleDispatchLocked();
        }

        try
        {
            using (cancellationToken.Register(static (s, token) => ((TaskCompletionSource)s!).TrySetCanceled(token), woken))
            {
                await woken.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            timer.Dispose();
        }
    }

    /// <summary>Advances exactly to the earliest pending wake and processes every wake due then.</summary>
    public async Task<bool> AdvanceToNextWakeAsync()
    {
        TimeSpan by;
        lock (_gate)
        {
            if (_wakes.Count == 0)
            {
                return false;
            }

            var due = _wakes.Min!.Due;
            var now = NowLocked();
            by = due > now ? due - now : TimeSpan.Zero;
        }

        await AdvanceAsync(by).ConfigureAwait(false);
        return true;
    }

    /// <summary>Jumps to <paramref name="time"/> (either direction) and fires whatever is now due, in no guaranteed order.</summary>
    public void SetTime(DateTimeOffset time)
    {
        lock (_gate)
        {
            SetTimeLocked(time);
        }

        FireDueNow();
    }

    private bool TryPopNextWake(DateTimeOffset limit, out ArtificialTimer timer)
    {
        lock (_gate)
        {
            if (_wakes.Min is not { } next || next.Due > limit)
            {
                timer = null!;
                return false;
            }

            _wakes.Remove(next);
            next.Scheduled = false;
            if (next.Due > NowLocked())
            {
                SetTimeLocked(next.Due);
            }

            // Ordered processing: a periodic timer's next wake is one period after this one.
            if (next.Period is { } period)
            {
                EnqueueLocked(next, TimeArithmetic.SaturatingAdd(next.Due, period));
            }

            timer = next;
            return true;
        }
    }

    /// <summary>Fires every wake that is due at the current time; used after jumps, by the auto pump and for zero delays.</summary>
    private void FireDueNow()
    {
        while (true)
        {
            ArtificialTimer timer;
            lock (_gate)
            {
                _dispatchQueued = false;
                var now = NowLocked();
                if (_wakes.Min is not { } next || next.Due > now)
                {
                    ScheduleDispatchLocked();
                    return;
                }

                _wakes.Remove(next);
                next.Scheduled = false;
                if (next.Period is { } period)
                {
                    // No catch-up storm after a jump: like a real timer, fire once and carry on from now.
                    var following = TimeArithmetic.SaturatingAdd(next.Due, period);
                    EnqueueLocked(next, following > now ? following : TimeArithmetic.SaturatingAdd(now, period));
                }

                timer = next;
            }

            timer.Fire();
        }
    }

    internal bool Change(ArtificialTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            if (timer.Disposed)
            {
                return false;
            }

            if (timer.Scheduled)
            {
                _wakes.Remove(timer);
                timer.Scheduled = false;
            }

            timer.Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                EnqueueLocked(timer, TimeArithmetic.SaturatingAdd(NowLocked(), dueTime));
            }

            ScheduleDispatchLocked();
            return true;
        }
    }

    internal void Remove(ArtificialTimer timer)
    {
        lock (_gate)
        {
            timer.Disposed = true;
            if (timer.Scheduled)
            {
                _wakes.Remove(timer);
                timer.Scheduled = false;
            }

            ScheduleDispatchLocked();
        }
    }

    private void EnqueueLocked(ArtificialTimer timer, DateTimeOffset due)
    {
        timer.Due = due;
        timer.Sequence = _nextSequence++;
        timer.Scheduled = _wakes.Add(timer);
    }

    private DateTimeOffset NowLocked()
    {
        if (Mode == ArtificialClockMode.Manual)
        {
            return _baseTime;
        }

        var realElapsed = Stopwatch.GetElapsedTime(_baseRealTimestamp);
        var scaledTicks = realElapsed.Ticks * _timeScale;
        var headroom = DateTimeOffset.MaxValue.UtcTicks - _baseTime.UtcTicks;
        return scaledTicks >= headroom ? DateTimeOffset.MaxValue : _baseTime.AddTicks((long)scaledTicks);
    }

    private void SetTimeLocked(DateTimeOffset time)
    {
        _baseTime = time.ToUniversalTime();
        _baseRealTimestamp = Stopwatch.GetTimestamp();
    }

    /// <summary>Makes sure the earliest wake will fire without a controller call when it is (or becomes) due on its own.</summary>
    private void ScheduleDispatchLocked()
    {
        if (_wakes.Min is not { } next)
        {
            _pump?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var now = NowLocked();
        if (_pump is null)
        {
            // Manual: time only moves by the controller, so only already-due wakes (zero delays,
            // jumps) need dispatching; they run on the pool like a real timer's callback.
            if (next.Due <= now && !_dispatchQueued)
            {
                _dispatchQueued = true;
                ThreadPool.UnsafeQueueUserWorkItem(static self => self.FireDueNow(), this, preferLocal: false);
            }

            return;
        }

        var realTicks = next.Due <= now ? 0d : Math.Ceiling((next.Due - now).Ticks / _timeScale);
        var realDelay = realTicks >= MaxPumpDelay.Ticks ? MaxPumpDelay : TimeSpan.FromTicks((long)realTicks);
        _pump.Change(realDelay, Timeout.InfiniteTimeSpan);
    }


    private sealed class WakeOrder : IComparer<ArtificialTimer>
    {
        public static readonly WakeOrder Instance = new();

        public int Compare(ArtificialTimer? x, ArtificialTimer? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null)
            {
                return -1;
            }

            if (y is null)
            {
                return 1;
            }

            var byDue = x.Due.UtcTicks.CompareTo(y.Due.UtcTicks);
            return byDue != 0 ? byDue : x.Sequence.CompareTo(y.Sequence);
        }
    }

    /// <summary>One sleeper in the wake list. Mutable fields are guarded by the provider's lock.</summary>
    internal sealed class ArtificialTimer : ITimer
    {
        private readonly ArtificialTimeProvider _owner;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ExecutionContext? _context;

        public ArtificialTimer(ArtificialTimeProvider owner, TimerCallback callback, object? state, ExecutionContext? context)
        {
            _owner = owner;
            _callback = callback;
            _state = state;
            _context = context;
        }

        internal DateTimeOffset Due { get; set; }

        internal long Sequence { get; set; }

        internal TimeSpan? Period { get; set; }

        internal bool Scheduled { get; set; }

        internal bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "Due time must be non-negative or infinite.");
            }

            if (period < TimeSpan.Zero && period != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(period), period, "Period must be non-negative or infinite.");
            }

            return _owner.Change(this, dueTime, period);
        }

        public void Dispose() => _owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        internal void Fire()
        {
            if (_context is null)
            {
                _callback(_state);
            }
            else
            {
                ExecutionContext.Run(_context, static s => ((ArtificialTimer)s!).InvokeCallback(), this);
            }
        }

        private void InvokeCallback() => _callback(_state);
    }
}
