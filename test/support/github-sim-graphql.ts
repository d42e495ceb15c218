import { buildSchema, GraphQLError, parse, validate, execute, type DocumentNode } from 'graphql';

// The part of GitHub's GraphQL API the simulator answers, run by the reference implementation
// (graphql-js): parsing, validation against this schema, variables and execution are GitHub's
// rules, not the simulator's own. Errors keep the shapes GitHub gives them.
const SCHEMA = buildSchema(`
  scalar URI
  scalar DateTime
  scalar GitObjectID

  enum PullRequestState { OPEN CLOSED MERGED }

  type PullRequest {
    id: ID!
    databaseId: Int
    number: Int!
    title: String!
    body: String!
    url: URI!
    permalink: URI!
    isDraft: Boolean!
    state: PullRequestState!
    closed: Boolean!
    merged: Boolean!
    headRefName: String!
    headRefOid: GitObjectID!
    baseRefName: String!
    updatedAt: DateTime!
  }

  type Repository {
    id: ID!
    databaseId: Int
    name: String!
    nameWithOwner: String!
    url: URI!
    pullRequest(number: Int!): PullRequest
  }

  input MarkPullRequestReadyForReviewInput { pullRequestId: ID! clientMutationId: String }
  input ConvertPullRequestToDraftInput { pullRequestId: ID! clientMutationId: String }
  type MarkPullRequestReadyForReviewPayload { clientMutationId: String pullRequest: PullRequest }
  type ConvertPullRequestToDraftPayload { clientMutationId: String pullRequest: PullRequest }

  type Query { repository(owner: String!, name: String!): Repository }
  type Mutation {
    markPullRequestReadyForReview(input: MarkPullRequestReadyForReviewInput!): MarkPullRequestReadyForReviewPayload
    convertPullRequestToDraft(input: ConvertPullRequestToDraftInput!): ConvertPullRequestToDraftPayload
  }
`);

/** An error a resolver raises, with GitHub's extra fields (`type: 'NOT_FOUND'`, …). */
export class GqlError extends Error {
  extra: Record<string, unknown>;
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.extra = extra;
  }
}

/** A resolved object: plain values, or functions of the field's arguments (graphql-js calls them). */
export type GqlObject = { [field: string]: unknown };
export type GqlResolver = (args: Record<string, unknown>) => unknown;

/** GitHub's wording for the validation error clients see most: a field that does not exist. */
function githubShape(error: GraphQLError): Record<string, unknown> {
  const { message, locations, path } = error;
  const unknownField = /^Cannot query field "([^"]+)" on type "([^"]+)"\./.exec(message);
  if (unknownField) {
    return {
      locations,
      extensions: { code: 'undefinedField', typeName: unknownField[2], fieldName: unknownField[1] },
      message: `Field '${unknownField[1]}' doesn't exist on type '${unknownField[2]}'`,
    };
  }
  const extra = error.originalError instanceof GqlError ? error.originalError.extra : {};
  return { ...extra, ...(path && { path }), ...(locations && { locations }), message };
}

/** Answers a GraphQL request body as GitHub does: `{ data, errors }` with HTTP 200. */
export async function answerGraphql(request: Record<string, unknown>, root: GqlObject): Promise<Record<string, unknown>> {
  if (typeof request.query !== 'string') return { errors: [{ message: 'A query attribute must be specified and must be a string.' }] };
  let document: DocumentNode;
  try {
    document = parse(request.query);
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [githubShape(err)] };
    throw err;
  }
  const invalid = validate(SCHEMA, document);
  if (invalid.length > 0) return { errors: invalid.map(githubShape) };
  const variables = request.variables && typeof request.variables === 'object' ? (request.variables as Record<string, unknown>) : {};
  const result = await execute({
    schema: SCHEMA,
    document,
    rootValue: root,
    variableValues: variables,
    operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
  });
  return result.errors ? { data: result.data ?? null, errors: result.errors.map(githubShape) } : { data: result.data };
}
