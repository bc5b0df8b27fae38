"""The planning studio (netplan serve): a local web app over the evaluate and plan functions."""
