namespace Job.TestSilo;

/// <summary>Free loopback ports for test silos (this process and the test suite, which references it),
/// outside the kernel's ephemeral range (see <c>Job.Hosting.FreePorts</c>).</summary>
public static class FreePorts
{
    /// <summary>Returns <paramref name="count"/> distinct free ports.</summary>
    public static int[] Take(int count) => global::Job.Hosting.FreePorts.Take(count);
}
