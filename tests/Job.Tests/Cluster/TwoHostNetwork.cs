using System.Diagnostics;

namespace Job.Tests.Cluster;

/// <summary>One of <see cref="TwoHostNetwork"/>'s hosts: a network namespace and its address.</summary>
/// <param name="Namespace">The namespace's name (also the silo's label).</param>
/// <param name="Address">Its only address besides loopback.</param>
internal sealed record NetworkHost(string Namespace, string Address)
{
    /// <summary>The command prefix that runs a program on this host.</summary>
    public IReadOnlyList<string> Exec => [TwoHostNetwork.IpTool, "netns", "exec", Namespace];
}

/// <summary>
/// Two hosts on this machine: two network namespaces, each with a loopback of its own and a veth
/// pair to a bridge, on a private /24 of their own (<see cref="Subnet"/>). The bridge's address
/// (<see cref="BridgeAddress"/>) is this machine's side, where the test's PostgreSQL listens. A
/// program in one namespace reaches the bridge and the other namespace, never the other
/// namespace's loopback: as with two real hosts, an address is only good for the host it is on.
/// Needs root and iproute2's <c>ip</c>. Disposing removes everything; creating first removes what a
/// crashed earlier run left, and holds a machine-wide lock meanwhile, so two test runs on this
/// machine (from two worktrees) take turns instead of tearing down each other's network.
/// </summary>
internal sealed class TwoHostNetwork : IAsyncDisposable
{
    public const string Subnet = "10.231.77.0/24";
    public const string BridgeAddress = "10.231.77.1";
    private const string Bridge = "jobxh-br";
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(10);

    private readonly FileStream _lock;

    private TwoHostNetwork(FileStream held) => _lock = held;

    /// <summary>The two hosts, each in its own namespace (names up to 15 characters with a suffix, for the interfaces).</summary>
    public IReadOnlyList<NetworkHost> Hosts { get; } = [new("jobxh-a", "10.231.77.2"), new("jobxh-b", "10.231.77.3")];

    /// <summary>The <c>ip</c> tool, by full path (a test host's PATH may lack /usr/sbin).</summary>
    public static string IpTool { get; } = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "ip")).FirstOrDefault(File.Exists)
        ?? "ip";

    /// <summary>Builds the network, after removing a crashed run's leftovers; fails with a clear message
    /// without root or <c>ip</c>, or when <see cref="Subnet"/> is taken on this machine.</summary>
    public static async Task<TwoHostNetwork> CreateAsync(Action<string> log)
    {
        Assert.True(Environment.IsPrivilegedProcess,
            "This test makes two network namespaces to stand for two hosts, which needs root (CI runs as root); run it as root.");
        Assert.True(File.Exists(IpTool),
            "This test needs iproute2's 'ip' to make network namespaces; install it (Debian/Ubuntu: apt-get install iproute2; .ci/run does).");

        var network = new TwoHostNetwork(await LockAsync(log));
        try
        {
            await network.RemoveAsync();
            var taken = (await IpAsync("-o", "-4", "addr", "show", "to", Subnet)).Trim();
            Assert.True(taken.Length == 0, $"{Subnet}, which this test builds its two hosts on, is already in use on this machine: {taken}");

            await IpAsync("link", "add", Bridge, "type", "bridge");
            await IpAsync("addr", "add", BridgeAddress + "/24", "dev", Bridge);
            await IpAsync("link", "set", Bridge, "up");
            foreach (var host in network.Hosts)
            {
                var outside = host.Namespace + "-h";
                var inside = host.Namespace + "-n";
                await IpAsync("netns", "add", host.Namespace);
                await IpAsync("link", "add", outside, "type", "veth", "peer", "name", inside);
                await IpAsync("link", "set", outside, "master", Bridge);
                await IpAsync("link", "set", outside, "up");
                await IpAsync("link", "set", inside, "netns", host.Namespace);
                await IpAsync("-n", host.Namespace, "addr", "add", host.Address + "/24", "dev", inside);
                await IpAsync("-n", host.Namespace, "link", "set", inside, "up");
                await IpAsync("-n", host.Namespace, "link", "set", "lo", "up");
            }

            log($"network: bridge {Bridge} {BridgeAddress}/24; " + string.Join("; ", network.Hosts.Select(h => $"namespace {h.Namespace} {h.Address}/24")));
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private static async Task<FileStream> LockAsync(Action<string> log)
    {
        var path = Path.Combine(Path.GetTempPath(), "job-tests-two-host-network.lock");
        var waiting = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                // An exclusive flock on Linux; the kernel drops it when a crashed holder dies.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waiting.Elapsed < LockTimeout)
            {
                if (!told)
                {
                    log($"waiting for another test run on this machine to release {path}");
                    told = true;
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    // Deleting a namespace deletes the veth end inside it, and with it the other end.
    private async Task RemoveAsync()
    {
        foreach (var host in Hosts)
        {
            await IpAsync(allowFailure: true, "netns", "del", host.Namespace);
            await IpAsync(allowFailure: true, "link", "del", host.Namespace + "-h");
        }

        await IpAsync(allowFailure: true, "link", "del", Bridge);
    }

    private static Task<string> IpAsync(params string[] args) => IpAsync(allowFailure: false, args);

    private static async Task<string> IpAsync(bool allowFailure, params string[] args)
    {
        var psi = new ProcessStartInfo(IpTool)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var ip = Process.Start(psi)!;
        var stdout = ip.StandardOutput.ReadToEndAsync();
        var stderr = ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (ip.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({ip.ExitCode}): {(await stderr).Trim()}");
        }

        return await stdout;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RemoveAsync();
        }
        finally
        {
            await _lock.DisposeAsync();
        }
    }
}
