package s3api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// The users of the admin API (root key only):
//
//	POST   users                  {"name","display_name","email"} -> user with its access key and secret
//	GET    users                                          -> {"users": [user]}
//	DELETE users/{name}?force=true                        -> {"name","deleted"}
//	POST   users/{name}/rotate-key                        -> user with its new access key and secret
//
// A user's own key may call POST keys to make scoped keys of its
// buckets, fork (POST buckets/{b}/forks, buckets/{b}/forks/batch) the
// buckets it may read, and renew its forks' leases (POST
// buckets/{fork}/renew): authz_fork.go.

// Errors of users.
var (
	errNoSuchUser      = &APIError{"NoSuchUser", "The specified user does not exist.", http.StatusNotFound}
	errUserExists      = &APIError{"UserAlreadyExists", "A user with this name already exists.", http.StatusConflict}
	errEmailInUse      = &APIError{"EmailAlreadyInUse", "Another user has this e-mail address.", http.StatusConflict}
	errUserOwnsBuckets = &APIError{"UserOwnsBuckets", "The user owns buckets: delete them first, or delete the user with force (its buckets pass to the root account).", http.StatusConflict}
)

// UserJSON is a user in the admin API.
type UserJSON struct {
	Name            string `json:"name"`
	CanonicalID     string `json:"canonical_id"`
	DisplayName     string `json:"display_name"`
	Email           string `json:"email,omitempty"`
	Created         string `json:"created"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

func userJSON(u *meta.User, nu *gateway.NewUser) UserJSON {
	out := UserJSON{Name: u.Name, CanonicalID: u.ID, DisplayName: u.DisplayName, Email: u.Email,
		Created: time.Unix(0, u.Created).UTC().Format(time.RFC3339)}
	if nu != nil {
		out.AccessKeyID, out.SecretAccessKey = nu.Key.ID, nu.Secret
	}
	return out
}

// adminUsers serves users, users/{name} and users/{name}/rotate-key.
func (s *Server) adminUsers(r *request, seg []string) (*response, error) {
	switch {
	case len(seg) == 1 && r.method == http.MethodPost:
		var in struct {
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
			Email       string `json:"email"`
		}
		if err := r.readStrictJSON(&in); err != nil {
			return nil, err
		}
		nu, err := s.svc.CreateUser(r.ctx, in.Name, in.DisplayName, strings.TrimSpace(in.Email))
		if err != nil {
			return nil, err
		}
		return &response{status: http.StatusCreated, json: userJSON(&nu.User, nu)}, nil
	case len(seg) == 1 && r.method == http.MethodGet:
		us, err := s.svc.Users(r.ctx)
		if err != nil {
			return nil, err
		}
		out := struct {
			Users []UserJSON `json:"users"`
		}{Users: []UserJSON{}}
		for i := range us {
			out.Users = append(out.Users, userJSON(&us[i], nil))
		}
		return &response{json: out}, nil
	case len(seg) == 2 && seg[1] != "" && r.method == http.MethodDelete:
		force, _ := strconv.ParseBool(r.query.Get("force"))
		if err := s.svc.DeleteUser(r.ctx, seg[1], force); err != nil {
			return nil, err
		}
		return &response{json: map[string]any{"name": seg[1], "deleted": true}}, nil
	case len(seg) == 3 && seg[1] != "" && seg[2] == "rotate-key" && r.method == http.MethodPost:
		nu, err := s.svc.RotateUserKey(r.ctx, seg[1])
		if err != nil {
			return nil, err
		}
		return &response{json: userJSON(&nu.User, nu)}, nil
	case len(seg) > 3:
		return nil, errAdminNotFound
	}
	return nil, ErrMethodNotAllowed
}

// userMain reports whether p is a user's own key (acting as the user).
func userMain(p *gateway.Principal) bool { return p != nil && p.User != "" && p.UserMain }

// userAllows decides a request of a user's own key: the buckets it owns
// are its own (what a policy denies excepted, decided before), it may
// create buckets and list its own, and of the admin API it may only make
// scoped keys (of its buckets: checked where the key is made), forks and
// renewals (checked by their handlers: userAdminCall). Beyond its
// buckets, the bucket policy's Allow and the ACLs decide (forks:
// forkAllows).
func (s *Server) userAllows(ctx context.Context, p *gateway.Principal, a access) error {
	switch a.kind {
	case accessService, accessCreate:
		return nil
	case accessAdmin:
		if userAdminCall(a.req) {
			return nil
		}
		return ErrAccessDenied
	}
	b, err := s.policyBucket(ctx, a)
	if err != nil {
		return err
	}
	if b != nil && b.Owner == p.User && !b.AccessUnknown {
		return nil
	}
	a.userID = p.UserID
	return s.aclAllows(ctx, a, groupAllUsers, groupAuthenticatedUsers)
}
