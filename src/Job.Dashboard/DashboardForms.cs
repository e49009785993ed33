using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace Job.Dashboard;

/// <summary>Who acts, for the history: the signed-in user's name, else the caller's loopback address.</summary>
internal static class DashboardActor
{
    public static string Of(HttpContext http)
    {
        var name = http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } n } ? n : $"anonymous@{http.Connection.RemoteIpAddress}";
        var actor = $"{name} (dashboard)";
        return actor.Length <= 256 ? actor : actor[..256];
    }
}

/// <summary>Validates the antiforgery token of a dashboard form and the return address of its redirect.</summary>
internal static class DashboardForms
{
    public static async Task<IResult?> RejectAsync(HttpContext http)
    {
        var antiforgery = http.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            await antiforgery.ValidateRequestAsync(http).ConfigureAwait(false);
            return null;
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Text("This form did not come from this dashboard, or it expired: reload the page and try again.", statusCode: 400);
        }
    }

    public static async Task<bool> MayActAsync(HttpContext http, JobDashboardOptions options)
    {
        if (!options.AllowActions)
        {
            return false;
        }

        if (options.ActionsPolicy is null)
        {
            return true;
        }

        var authorization = http.RequestServices.GetRequiredService<IAuthorizationService>();
        return (await authorization.AuthorizeAsync(http.User, options.ActionsPolicy).ConfigureAwait(false)).Succeeded;
    }

    /// <summary>Back to where the form was, inside the dashboard only (never an address a form could smuggle in).
    /// Every action ends here: after one that succeeded (a notice), the counts are taken again before the next page shows them.</summary>
    public static IResult Back(HttpContext http, string prefix, string? returnTo, string key, string message)
    {
        if (key == "notice")
        {
            http.RequestServices.GetRequiredService<DashboardStats>().Recount();
        }

        var root = http.Request.PathBase.Value + prefix;
        var target = returnTo is { Length: > 0 } r && r.StartsWith(root + "/", StringComparison.Ordinal) && !r.Contains("//", StringComparison.Ordinal) && !r.Contains('\\', StringComparison.Ordinal)
            ? r
            : root + "/";
        return Results.Redirect(QueryHelpers.AddQueryString(RemoveNotices(target), key, message), permanent: false);
    }

    private static string RemoveNotices(string url)
    {
        var q = url.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return url;
        }

        var query = QueryHelpers.ParseQuery(url[q..]);
        var kept = query.Where(kv => kv.Key is not ("notice" or "error")).SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string?>(kv.Key, v)));
        return QueryHelpers.AddQueryString(url[..q], kept);
    }
}
