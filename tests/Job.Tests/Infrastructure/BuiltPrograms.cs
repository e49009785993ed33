namespace Job.Tests.Infrastructure;

/// <summary>
/// Where the solution's programs are built, so tests run each from its own build folder with its own
/// dependencies: this test project references ASP.NET Core (through Job.Silo and Job.Worker), so the
/// copies of the other programs beside it would miss the packages the shared framework replaced here.
/// </summary>
public static class BuiltPrograms
{
    private static readonly Dictionary<string, string> s_projects = new(StringComparer.Ordinal)
    {
        ["Job.Silo.dll"] = Path.Combine("src", "Job.Silo"),
        ["JobClient.dll"] = Path.Combine("samples", "JobClient"),
        ["QuickStart.dll"] = Path.Combine("samples", "QuickStart"),
        ["Worker.dll"] = Path.Combine("samples", "Worker"),
    };

    /// <summary>The path of <paramref name="dllName"/> in its project's build folder, in this test run's configuration.</summary>
    public static string PathOf(string dllName)
    {
        var testFolder = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        if (!s_projects.TryGetValue(dllName, out var project))
        {
            return Path.Combine(testFolder.FullName, dllName);
        }

        // tests/Job.Tests/bin/<Configuration>/<tfm>/
        var framework = testFolder.Name;
        var configuration = testFolder.Parent!.Name;
        return Path.Combine(RepositoryRoot(), project, "bin", configuration, framework, dllName);
    }

    /// <summary>The repository's root: the folder above this test assembly that holds Job.sln.</summary>
    public static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Job.sln")))
        {
            root = root.Parent;
        }

        Assert.True(root is not null, $"no Job.sln above {AppContext.BaseDirectory}");
        return root!.FullName;
    }
}
