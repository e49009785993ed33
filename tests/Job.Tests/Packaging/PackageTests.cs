using System.IO.Compression;
using System.Security;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Packaging;

/// <summary>Packing and building with the SDK keeps both cores busy for a minute: alone, so it starves no
/// timing-sensitive test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingCollection
{
    public const string Name = "Packaging";
}

/// <summary>
/// The packages as a user gets them: <c>dotnet pack</c> of the repository into a local feed, then an application
/// outside the repository (none of its Directory.Build.props or central versions apply) that references them by id
/// and version from that feed, built and run against the test PostgreSQL.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PackageTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>, IDisposable
{
    /// <summary>The library packages the repository makes (the projects under src/ that are packable).</summary>
    private static readonly string[] s_packageIds = ["Job.Client", "Job.Interfaces", "Job.Grains", "Job.Worker", "Job.OrleansClient", "Job.Dashboard"];

    /// <summary>An MSBuild or NuGet warning line (warnings are errors in the repository, so none is expected).</summary>
    private const string Warning = @"\bwarning [A-Z]+[0-9]+";

    private readonly string _work = Path.Combine(Path.GetTempPath(), "job-package-test-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public async Task The_packages_from_a_local_feed_run_a_job_in_an_application_outside_the_repository()
    {
        var repo = FindRepositoryRoot();
        Assert.False(Path.GetFullPath(_work).StartsWith(repo + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{_work} is inside the repository");
        var feed = Directory.CreateDirectory(Path.Combine(_work, "feed")).FullName;
        var app = Directory.CreateDirectory(Path.Combine(_work, "app")).FullName;

        // 1. Pack, as CI does, with a version no cache has seen; bin/ and obj/ go to the temp folder, not the repository's.
        var suffix = "test-" + Guid.NewGuid().ToString("N")[..12];
        var version = $"{ReadVersionPrefix(repo)}-{suffix}";
        var pack = await DotnetProcess.RunCliAsync(
            ["pack", Path.Combine(repo, "Job.sln"), "-c", "Release", "-o", feed, "--version-suffix", suffix,
             "--artifacts-path", Path.Combine(_work, "artifacts"), "--disable-build-servers"],
            repo, TimeSpan.FromMinutes(10));
        output.WriteLine(pack.StdOut);
        Assert.True(pack.ExitCode == 0, $"dotnet pack failed (exit {pack.ExitCode}):\n{pack.Output}");
        Assert.DoesNotMatch(Warning, pack.StdOut);

        var packed = Directory.GetFiles(feed).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(s_packageIds.SelectMany(id => new[] { $"{id}.{version}.nupkg", $"{id}.{version}.snupkg" }).Order(StringComparer.Ordinal), packed);
        foreach (var id in s_packageIds)
        {
            CheckPackage(Path.Combine(feed, $"{id}.{version}.nupkg"), id, version, repo);
        }

        // 2. An application of its own: PackageReference by id and version, the feed beside nuget.org. Packages it
        //    restores go to its own folder (nothing of this test lands in the machine's NuGet cache); the machine's
        //    cache is only read, for the dependencies the repository's build already brought.
        var userPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } np
            ? np
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{SecurityElement.Escape(Path.Combine(_work, "packages"))}" />
              </config>
              <packageSources>
                <add key="job-local" value="{SecurityElement.Escape(feed)}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{SecurityElement.Escape(userPackages)}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "PackageApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <!-- Job.Interfaces and Job.Client come as Job.Grains' dependencies. -->
                <PackageReference Include="Job.Grains" Version="{version}" />
                <!-- A plain Orleans client of the same cluster: UseJobCluster and the typed extensions. -->
                <PackageReference Include="Job.OrleansClient" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), AppProgram);

        // 3. One restore and build, then run it.
        var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = null };
        var build = await DotnetProcess.RunCliAsync(["build", "--disable-build-servers"], app, TimeSpan.FromMinutes(5), env);
        output.WriteLine(build.StdOut);
        Assert.True(build.ExitCode == 0, $"dotnet build of the application failed (exit {build.ExitCode}):\n{build.Output}");
        Assert.DoesNotMatch(Warning, build.StdOut);

        var run = await DotnetProcess.RunCliAsync(["run", "--no-build", "--", db.ConnectionString], app, TimeSpan.FromMinutes(2), env);
        output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, $"the application failed (exit {run.ExitCode}):\n{run.Output}");
        Assert.Contains($"Job.Grains {version}", run.StdOut);       // the packed assemblies, not a build of the repository
        Assert.Contains($"Job.Interfaces {version}", run.StdOut);
        Assert.Contains($"Job.Client {version}", run.StdOut);
        Assert.Contains($"Job.OrleansClient {version}", run.StdOut);
        Assert.Contains("Processing value: 42", run.StdOut);
        Assert.Matches(@"Job [0-9a-f-]{36}: Completed", run.StdOut);
        Assert.Contains("Processing value: 43", run.StdOut);
        Assert.Matches(@"Orleans client job [0-9a-f-]{36}: Completed", run.StdOut);

        // 4. The README's adoption path: samples/Worker copied out of the repository, its project reference
        //    swapped for the package with the two commands the README gives, built from the feed.
        var worker = Path.Combine(_work, "MyWorker");
        CopySample(Path.Combine(repo, "samples", "Worker"), worker);
        File.Copy(Path.Combine(app, "nuget.config"), Path.Combine(worker, "nuget.config"));
        string[][] swaps = [["remove", "reference", "../../src/Job.Worker/Job.Worker.csproj"], ["add", "package", "Job.Worker", "--version", version]];
        foreach (var step in swaps)
        {
            var swap = await DotnetProcess.RunCliAsync(step, worker, TimeSpan.FromMinutes(5), env);
            Assert.True(swap.ExitCode == 0, $"dotnet {string.Join(' ', step)} failed (exit {swap.ExitCode}):\n{swap.Output}");
        }

        var workerBuild = await DotnetProcess.RunCliAsync(["build", "--disable-build-servers"], worker, TimeSpan.FromMinutes(5), env);
        output.WriteLine(workerBuild.StdOut);
        Assert.True(workerBuild.ExitCode == 0, $"dotnet build of the copied worker failed (exit {workerBuild.ExitCode}):\n{workerBuild.Output}");
        Assert.DoesNotMatch(Warning, workerBuild.StdOut);
        Assert.DoesNotContain("ProjectReference", await File.ReadAllTextAsync(Path.Combine(worker, "Worker.csproj")), StringComparison.Ordinal);
    }

    // The sample's sources and settings, without what a build left in it.
    private static void CopySample(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    /// <summary>The metadata and files every package must have.</summary>
    private static void CheckPackage(string nupkg, string id, string version, string repo)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var files = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains($"lib/net10.0/{id}.dll", files);
        Assert.Contains($"lib/net10.0/{id}.xml", files);   // XML documentation
        Assert.Contains("README.md", files);

        using var nuspecStream = zip.GetEntry($"{id}.nuspec")!.Open();
        var metadata = XDocument.Load(nuspecStream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Meta(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal(id, Meta("id"));
        Assert.Equal(version, Meta("version"));
        Assert.Equal("MIT", Meta("license"));
        Assert.Equal("README.md", Meta("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Meta("authors")), $"{id}: no authors");
        Assert.True(Meta("description") is { Length: > 40 } d && !d.StartsWith("Package Description", StringComparison.Ordinal), $"{id}: no description of its own");
        Assert.Contains("orleans", Meta("tags") ?? "", StringComparison.Ordinal);
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        if (Directory.Exists(Path.Combine(repo, ".git")) || File.Exists(Path.Combine(repo, ".git")))
        {
            // Source Link found the commit (a checkout or a worktree); with a remote on a web host it also maps sources.
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Job.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Job.sln above {AppContext.BaseDirectory}: this test packs the repository it was built from.");
    }

    private static string ReadVersionPrefix(string repo)
    {
        var props = File.ReadAllText(Path.Combine(repo, "Directory.Build.props"));
        var match = Regex.Match(props, "<VersionPrefix>([^<]+)</VersionPrefix>");
        Assert.True(match.Success, "Directory.Build.props sets no VersionPrefix");
        return match.Groups[1].Value;
    }

    /// <summary>The README's quick start, then a plain Orleans client of the same cluster (the README's
    /// UseJobCluster and typed spawn), plus the versions of the Job assemblies it loaded.</summary>
    private const string AppProgram = """
        using System.Reflection;
        using Job;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        Console.WriteLine($"Job.Grains {Version(typeof(Jobs))}");
        Console.WriteLine($"Job.Interfaces {Version(typeof(JobId))}");
        Console.WriteLine($"Job.Client {Version(typeof(JobClient))}");
        Console.WriteLine($"Job.OrleansClient {Version(typeof(JobClusterOptions))}");

        var config = JobSvcConfig.Builder()
            .PgCon(args[0])
            .Build();
        await using var jobs = await Jobs.InitAsync(config);
        JobSpawner<MyConfig> spawner = jobs.AddInitializer(new MyInitializer());
        await jobs.StartPollAsync();

        var job = await spawner.SpawnAsync(JobId.New(), new MyConfig(42));
        var done = await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(60));
        Console.WriteLine($"Job {job.Id}: {done.Status}");

        var clientBuilder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        clientBuilder.UseOrleansClient(client => client.UseJobCluster(args[0]));
        using (var clientHost = clientBuilder.Build())
        {
            await clientHost.StartAsync();
            var grains = clientHost.Services.GetRequiredService<IClusterClient>();
            var typed = await grains.SpawnJobAsync(new JobType("package-job"), JobId.New(), new MyConfig(43));
            var typedDone = await grains.AwaitJobCompletionAsync(typed.Id, TimeSpan.FromSeconds(60));
            Console.WriteLine($"Orleans client job {typed.Id}: {typedDone.Status}");
            await clientHost.StopAsync();
        }

        await jobs.ShutdownAsync();

        static string Version(Type type) =>
            type.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "(no version)";

        public sealed record MyConfig(int Value);

        public sealed class MyInitializer : IJobInitializer<MyConfig>
        {
            public JobType JobType => new("package-job");

            public IJobRunner Init(Job.Job job, JobSpawner<MyConfig> spawner) => new MyRunner(job.Config<MyConfig>().Value);
        }

        public sealed class MyRunner(int value) : IJobRunner
        {
            public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
            {
                Console.WriteLine($"Processing value: {value}");
                return Task.FromResult(JobCompletion.Complete());
            }
        }
        """;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
