// Starts GraphiQL against this server's /graphql. A token goes in the
// Headers tab: {"Authorization": "Bearer <token>"}.
(function () {
  var url = new URL("/graphql", window.location.origin).toString();
  var fetcher = GraphiQL.createFetcher({ url: url });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultQuery: "# 住房安全核验 GraphQL。先在 Headers 中填入令牌。\n# Put your token in Headers first.\n{\n  me { username role region { name } }\n}\n",
    })
  );
})();
